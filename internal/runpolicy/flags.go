package runpolicy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/seccomp"
)

// Flags are vigil run's rule flags, as given.
type Flags struct {
	Redirects    []string // SRC=DST
	Deny         []string // PATH
	DenyPrefix   []string // DIR
	Errno        string   // for Deny and DenyPrefix; "" means EACCES
	DenySyscalls []string // NAME[=ERRNO]
	Copycat      string   // the COPYCAT variable: "SRC DST [SRC DST ...]"
	Policy       string   // a policy file
}

// Build returns the rules the flags describe, in this order: --redirect,
// COPYCAT, --deny, --deny-prefix, --deny-syscall, then the policy file's
// rules; the first match wins. Relative paths in flags are taken
// relative to cwd; readFile reads the policy file.
func Build(f Flags, cwd string, readFile func(string) ([]byte, error)) (seccomp.Rules, error) {
	var rs seccomp.Rules
	var errs []error
	abs := func(flag, p string) string {
		if p == "" {
			errs = append(errs, fmt.Errorf("%s: empty path", flag))
			return ""
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		return filepath.Clean(p)
	}
	denyErrno := syscall.EACCES
	if f.Errno != "" {
		e, err := errno.Parse(f.Errno)
		if err != nil {
			errs = append(errs, fmt.Errorf("--errno: %w", err))
		}
		denyErrno = e
	}
	for _, r := range f.Redirects {
		src, dst, ok := strings.Cut(r, "=")
		if !ok || src == "" || dst == "" {
			errs = append(errs, fmt.Errorf("--redirect %q: want SRC=DST", r))
			continue
		}
		src, dst = abs("--redirect", src), abs("--redirect", dst)
		rs.Paths = append(rs.Paths, seccomp.PathRule{Name: "redirect:" + src, Path: src, Action: seccomp.ActionRedirect, Target: dst})
	}
	if f.Copycat != "" {
		fs := strings.Fields(f.Copycat)
		if len(fs)%2 != 0 {
			errs = append(errs, fmt.Errorf("COPYCAT: want pairs \"SRC DST ...\", got %d words", len(fs)))
			fs = fs[:len(fs)-1]
		}
		for i := 0; i < len(fs); i += 2 {
			src, dst := abs("COPYCAT", fs[i]), abs("COPYCAT", fs[i+1])
			rs.Paths = append(rs.Paths, seccomp.PathRule{Name: "copycat:" + src, Path: src, Action: seccomp.ActionRedirect, Target: dst})
		}
	}
	for _, p := range f.Deny {
		p = abs("--deny", p)
		rs.Paths = append(rs.Paths, seccomp.PathRule{Name: "deny:" + p, Path: p, Action: seccomp.ActionDeny, Errno: denyErrno})
	}
	for _, p := range f.DenyPrefix {
		p = abs("--deny-prefix", p)
		rs.Paths = append(rs.Paths, seccomp.PathRule{Name: "deny-prefix:" + p, Path: p, Prefix: true, Action: seccomp.ActionDeny, Errno: denyErrno})
	}
	for _, d := range f.DenySyscalls {
		name, es, hasErrno := strings.Cut(d, "=")
		nr, ok := seccomp.SyscallNumber(name)
		if !ok {
			errs = append(errs, fmt.Errorf("--deny-syscall %q: unknown x86_64 syscall %q", d, name))
			continue
		}
		e := syscall.EPERM
		if hasErrno {
			var err error
			if e, err = errno.Parse(es); err != nil {
				errs = append(errs, fmt.Errorf("--deny-syscall %q: %w", d, err))
				continue
			}
		}
		rs.Syscalls = append(rs.Syscalls, seccomp.SyscallRule{Name: "deny-syscall:" + name, Syscall: name, Nr: nr, Action: seccomp.ActionDeny, Errno: e})
	}
	if f.Policy != "" {
		data, err := readFile(f.Policy)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading policy: %w", err))
		} else {
			p, err := Load(f.Policy, data)
			if err != nil {
				errs = append(errs, err)
			} else {
				rs.Paths = append(rs.Paths, p.Paths...)
				rs.Syscalls = append(rs.Syscalls, p.Syscalls...)
			}
		}
	}
	return rs, errors.Join(errs...)
}
