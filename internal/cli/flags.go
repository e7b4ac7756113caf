package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// uintSlice is a repeatable (and comma-separated) flag of unsigned
// integers of bits bits; zero is refused where zeroOK is false.
type uintSlice[T uint16 | uint32] struct {
	p      *[]T
	bits   int
	zeroOK bool
	kind   string // the flag's type in --help, and what a bad value is not
}

func newUint32Slice(p *[]uint32) *uintSlice[uint32] {
	return &uintSlice[uint32]{p: p, bits: 32, zeroOK: true, kind: "uint32"}
}

// newPortSlice is a flag of port numbers, 1 to 65535.
func newPortSlice(p *[]uint16) *uintSlice[uint16] {
	return &uintSlice[uint16]{p: p, bits: 16, kind: "port"}
}

func (u *uintSlice[T]) String() string {
	if u.p == nil {
		return ""
	}
	parts := make([]string, len(*u.p))
	for i, v := range *u.p {
		parts[i] = strconv.FormatUint(uint64(v), 10)
	}
	return strings.Join(parts, ",")
}

func (u *uintSlice[T]) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, u.bits)
		if err != nil || (v == 0 && !u.zeroOK) {
			if u.kind == "port" {
				return fmt.Errorf("%q is not a port (1 to 65535)", part)
			}
			return fmt.Errorf("%q is not a %s", part, u.kind)
		}
		*u.p = append(*u.p, T(v))
	}
	return nil
}

func (u *uintSlice[T]) Type() string { return u.kind }
