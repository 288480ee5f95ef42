package onplana_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/onplana/webhook"
	"github.com/onplana/webhook/onplana"
)

// BenchmarkDecodeTaskEventData decodes the data of the task.updated sample,
// compacted, with TaskEventData's UnmarshalJSON and with encoding/json.
func BenchmarkDecodeTaskEventData(b *testing.B) {
	info, _ := onplana.LookupEvent(webhook.EventTaskUpdated)
	e, err := webhook.ParseEvent(info.Sample)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, e.Data); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("impl=UnmarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d onplana.TaskEventData
			if err := d.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d plainTaskEvent
			if err := json.Unmarshal(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
