package webhook

import "net/http"

// The tests reach the verifiers of a Receiver through these one-body
// shorthands.

func (v *onplanaVerifier) verifyBody(body []byte, signature string) error {
	return v.verify([][]byte{body}, signature, "")
}

func (v *onplanaVerifier) verifyHeaderOf(body []byte, h http.Header) error {
	return v.verifyHeader([][]byte{body}, h, DefaultSignatureHeader, DefaultPreviousSignatureHeader)
}

func (v *standardVerifier) verifyBody(body []byte, id, timestamp, signature string) error {
	return v.verify([][]byte{body}, id, timestamp, signature)
}

func (v *standardVerifier) verifyHeaderOf(body []byte, h http.Header) error {
	return v.verifyHeader([][]byte{body}, h)
}
