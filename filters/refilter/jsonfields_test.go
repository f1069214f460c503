package refilter

import (
	"encoding/json"
	"testing"
)

func TestReplaceFields(t *testing.T) {
	set := []field{{"version", json.RawMessage(`"v2"`)}, {"policy", json.RawMessage(`{"name":"strict"}`)}}
	tests := []struct {
		name, in, want string
		fields         []field
	}{
		{
			name:   "order and other members kept",
			in:     `{"dataset":"d","version":"v1","split":"train","policy":{"name":"default","judges":{"a":1}},"x":[1,2]}`,
			fields: set,
			want:   `{"dataset":"d","version":"v2","split":"train","policy":{"name":"strict"},"x":[1,2]}`,
		},
		{
			name:   "spacing kept",
			in:     "{\n  \"version\" : \"v1\" ,\n  \"n\": 1.50,\n  \"policy\":null\n}\n",
			fields: set,
			want:   "{\n  \"version\" : \"v2\" ,\n  \"n\": 1.50,\n  \"policy\":{\"name\":\"strict\"}\n}\n",
		},
		{
			name:   "missing fields added at the end",
			in:     `{"dataset":"d","version":"v1"}`,
			fields: set,
			want:   `{"dataset":"d","version":"v2","policy":{"name":"strict"}}`,
		},
		{
			name:   "empty object",
			in:     `{}`,
			fields: set,
			want:   `{"version":"v2","policy":{"name":"strict"}}`,
		},
		{
			name:   "nested keys of the same name untouched",
			in:     `{"engine":{"version":"e1"},"version":"v1","policy":"p"}`,
			fields: set,
			want:   `{"engine":{"version":"e1"},"version":"v2","policy":{"name":"strict"}}`,
		},
		{
			name:   "escaped strings kept byte for byte",
			in:     `{"s":"\u003c\"}\"","version":"v1","policy":1}`,
			fields: set,
			want:   `{"s":"\u003c\"}\"","version":"v2","policy":{"name":"strict"}}`,
		},
		{
			name: "no field",
			in:   `{"a":1}`,
			want: `{"a":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceFields([]byte(tt.in), tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestReplaceFieldsRefuses(t *testing.T) {
	for _, in := range []string{``, `[1]`, `"s"`, `{"a":1`, `{"a":1} {}`, `{"a":}`} {
		if got, err := replaceFields([]byte(in), []field{{"a", json.RawMessage(`2`)}}); err == nil {
			t.Errorf("replaceFields(%q) = %s, want an error", in, got)
		}
	}
}
