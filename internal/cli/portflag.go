package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// uint16Slice is a repeatable, comma-separated flag of port numbers.
type uint16Slice struct{ p *[]uint16 }

func newUint16Slice(p *[]uint16) *uint16Slice { return &uint16Slice{p} }

func (u *uint16Slice) String() string {
	if u.p == nil {
		return ""
	}
	parts := make([]string, len(*u.p))
	for i, v := range *u.p {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(parts, ",")
}

func (u *uint16Slice) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, 16)
		if err != nil || v == 0 {
			return fmt.Errorf("%q is not a port (1 to 65535)", part)
		}
		*u.p = append(*u.p, uint16(v))
	}
	return nil
}

func (u *uint16Slice) Type() string { return "port" }
