package cli

import (
	"strconv"
	"strings"
)

// uint32Slice is a repeatable (and comma-separated) flag of uint32s.
type uint32Slice struct{ p *[]uint32 }

func newUint32Slice(p *[]uint32) *uint32Slice { return &uint32Slice{p} }

func (u *uint32Slice) String() string {
	if u.p == nil {
		return ""
	}
	parts := make([]string, len(*u.p))
	for i, v := range *u.p {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(parts, ",")
}

func (u *uint32Slice) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, 32)
		if err != nil {
			return err
		}
		*u.p = append(*u.p, uint32(v))
	}
	return nil
}

func (u *uint32Slice) Type() string { return "uint32" }
