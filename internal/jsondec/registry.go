package jsondec

import (
	"reflect"
	"sync"
)

// DecodeAt decodes the JSON value that starts at data[i], nested in depth
// arrays and objects of data, into a new T, and returns it and the index
// after the value: what a Decoder made by NewAt does, carried strings
// included, which it sets whether or not it returns an error. The value must equal
// what the type's UnmarshalJSON decodes from the value's bytes into a zero
// T. Allocating the T itself, the function can allocate with it the memory
// its decoding would otherwise allocate piece by piece (see
// Decoder.Spare). The caller does not modify data afterwards: the T may
// share its bytes (see Decoder.ShareInput).
type DecodeAt[T any] func(data []byte, i, depth int, carried Carried) (v *T, end int, err error)

// decoders holds the registered DecodeAt functions, by the type they
// decode.
var decoders sync.Map // reflect.Type → DecodeAt[T]

// Register records decode as the way to decode a JSON value inside a
// larger document into a T, which UnmarshalJSON cannot do. A package
// registers its types when it is initialized. decode should make its
// Decoder, call the functions that use it directly (a Decoder passed
// through a function value escapes to the heap), and end with its Done,
// which sets the strings decoded.
func Register[T any](decode DecodeAt[T]) {
	decoders.Store(reflect.TypeFor[T](), decode)
}

// Lookup returns the function registered for T, or nil.
func Lookup[T any]() DecodeAt[T] {
	f, ok := decoders.Load(reflect.TypeFor[T]())
	if !ok {
		return nil
	}
	return f.(DecodeAt[T])
}
