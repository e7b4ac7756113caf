package ui

import (
	"errors"
	"testing"
)

func TestListenAddr(t *testing.T) {
	cases := []struct {
		name, in string
		expose   bool
		want     string
		err      error
	}{
		{"port only", "9465", false, "127.0.0.1:9465", nil},
		{"colon port", ":9465", false, "127.0.0.1:9465", nil},
		{"loopback", "127.0.0.1:0", false, "127.0.0.1:0", nil},
		{"localhost", "localhost:80", false, "localhost:80", nil},
		{"ipv6 loopback", "[::1]:9465", false, "[::1]:9465", nil},
		{"other loopback", "127.0.0.2:1", false, "127.0.0.2:1", nil},
		{"any refused", "0.0.0.0:9465", false, "", ErrExposed},
		{"lan refused", "192.168.1.5:9465", false, "", ErrExposed},
		{"name refused", "example.org:9465", false, "", ErrExposed},
		{"any exposed", "0.0.0.0:9465", true, "0.0.0.0:9465", nil},
		{"garbage", "a:b:c", false, "", errAny},
	}
	for _, c := range cases {
		got, err := ListenAddr(c.in, c.expose)
		switch {
		case c.err == errAny && err == nil:
			t.Errorf("%s: ListenAddr(%q) = %q, want an error", c.name, c.in, got)
		case c.err != nil && c.err != errAny && !errors.Is(err, c.err):
			t.Errorf("%s: ListenAddr(%q) err = %v, want %v", c.name, c.in, err, c.err)
		case c.err == nil && (err != nil || got != c.want):
			t.Errorf("%s: ListenAddr(%q) = %q, %v; want %q", c.name, c.in, got, err, c.want)
		}
	}
}

var errAny = errors.New("any error")
