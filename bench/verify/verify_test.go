package main

import "testing"

func TestBlankTopLevel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":1,"elapsed_seconds":2.5,"b":3}`, `{"a":1,"elapsed_seconds": <ignored>,"b":3}`},
		{"{\n  \"elapsed_seconds\": 10.2,\n  \"x\": [1, {\"elapsed_seconds\": 3}]\n}\n",
			"{\n  \"elapsed_seconds\": <ignored>,\n  \"x\": [1, {\"elapsed_seconds\": 3}]\n}\n"},
		{`{"n":{"elapsed_seconds":1},"elapsed_seconds":{"a":[1,2]},"z":"elapsed_seconds"}`,
			`{"n":{"elapsed_seconds":1},"elapsed_seconds": <ignored>,"z":"elapsed_seconds"}`},
		{`{"files":[{"Name":"elapsed_seconds"}],"k":"v"}`, `{"files":[{"Name":"elapsed_seconds"}],"k":"v"}`},
	} {
		got, found, err := blankTopLevel([]byte(c.in), "elapsed_seconds")
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
		if want := c.in != c.want; found != want {
			t.Errorf("%s: found %v", c.in, found)
		}
	}
	if _, _, err := blankTopLevel([]byte(`{"a":`), "a"); err == nil {
		t.Error("truncated JSON accepted")
	}
}
