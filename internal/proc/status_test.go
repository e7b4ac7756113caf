package proc

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseStatusFields(t *testing.T) {
	full := "Name:\tcat\nUmask:\t0027\nState:\tR (running)\nTgid:\t812\nNgid:\t0\nPid:\t813\nPPid:\t1\n" +
		"TracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\nFDSize:\t64\n" +
		"Groups:\t27 4 100 \nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n" +
		"Seccomp:\t2\nSeccomp_filters:\t3\n"
	for _, tc := range []struct {
		desc string
		in   string
		want Status
	}{
		{"every field", full, Status{Name: "cat", Umask: 0o027, Tgid: 812, Ppid: 1,
			Uid: [4]uint32{1000, 1001, 1002, 1003}, Gid: [4]uint32{100, 101, 102, 103},
			Groups: []uint32{4, 27, 100}, CapEff: 0x1ffffffffff, Seccomp: 2, SeccompFilters: 3,
			Fields: FieldName | FieldUmask | FieldTgid | FieldPpid | FieldUid | FieldGid |
				FieldGroups | FieldCapEff | FieldSeccomp | FieldSeccompFilters}},
		{"no groups", "Groups:\t\n", Status{Fields: FieldGroups}},
		{"no trailing newline", "PPid:\t7", Status{Ppid: 7, Fields: FieldPpid}},
		{"nothing it reads", "State:\tS (sleeping)\nVmRSS:\t 100 kB\n", Status{}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseStatus([]byte(tc.in))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestParseStatusName feeds names as proc_task_name writes them: newline
// and backslash escaped, every other byte as it is.
func TestParseStatusName(t *testing.T) {
	for _, tc := range []struct {
		desc, line, want string
	}{
		{"plain", "bash", "bash"},
		{"newline", `a\nb`, "a\nb"},
		{"backslash", `a\\b`, `a\b`},
		{"backslash then n", `a\\nb`, `a\nb`},
		{"escaped newline after backslash", `\\\n`, "\\\n"},
		{"only backslashes", `\\\\`, `\\`},
		{"trailing lone backslash", `a\`, `a\`},
		{"unknown escape kept", `a\tb`, `a\tb`},
		{"leading and trailing blanks", "  x \t", "  x \t"},
		{"tab inside", "a\tb", "a\tb"},
		{"colon", "a:b", "a:b"},
		{"not UTF-8", "sh\xff\xfe", "sh\xff\xfe"},
		{"not UTF-8 escaped", "\xc3\\n\x28", "\xc3\n\x28"},
		{"empty", "", ""},
		{"kworker", "kworker/0:1-events", "kworker/0:1-events"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseStatus([]byte("Name:\t" + tc.line + "\nPPid:\t1\n"))
			if err != nil || got.Name != tc.want || !got.Has(FieldName|FieldPpid) || got.Ppid != 1 {
				t.Errorf("got %q (%+v), %v; want %q", got.Name, got, err, tc.want)
			}
			if esc := EscapeName(tc.want); tc.desc != "unknown escape kept" && tc.desc != "trailing lone backslash" && esc != tc.line {
				t.Errorf("EscapeName(%q) = %q, want %q", tc.want, esc, tc.line)
			}
		})
	}
}

func TestParseStatusErrors(t *testing.T) {
	for _, tc := range []struct{ desc, in string }{
		{"bad PPid", "PPid:\tz\n"},
		{"negative Tgid", "Tgid:\t-1\n"},
		{"Uid too short", "Uid:\t0\n"},
		{"Uid too long", "Uid:\t0\t0\t0\t0\t0\n"},
		{"Gid not a number", "Gid:\t0\tx\t0\t0\n"},
		{"bad group", "Groups:\t1 two\n"},
		{"CapEff not hex", "CapEff:\tzz\n"},
		{"Umask not octal", "Umask:\t0089\n"},
		{"bad Seccomp", "Seccomp:\tbogus\n"},
		{"bad Seccomp_filters", "Seccomp_filters:\t-\n"},
		{"PPid beyond 32 bits", "PPid:\t4294967296\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if s, err := ParseStatus([]byte(tc.in)); err == nil {
				t.Errorf("accepted: %+v", s)
			}
		})
	}
}

func TestParseStatusFixtures(t *testing.T) {
	for _, tc := range []struct {
		desc, file       string
		name             string
		seccomp, filters int
	}{
		{"filtered process", "status_seccomp.txt", "sshd", 2, 3},
		{"unfiltered process", "status_plain.txt", "bash", 0, 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseStatus(b)
			if err != nil || s.Name != tc.name || s.Seccomp != tc.seccomp || s.SeccompFilters != tc.filters || !s.Has(FieldSeccomp) {
				t.Errorf("got %+v, %v; want %s, seccomp %d, %d filters", s, err, tc.name, tc.seccomp, tc.filters)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\ta\\nb\\\\c\nPPid:\t1\nUid:\t0\t0\t0\t0\n"))
	f.Add([]byte("Groups:\t1 2 3\nCapEff:\tff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err != nil || !s.Has(FieldName) {
			return
		}
		// A name read back escaped and parsed again stays the same.
		again, err := ParseStatus([]byte("Name:\t" + EscapeName(s.Name) + "\n"))
		if err != nil || again.Name != s.Name {
			t.Errorf("name %q came back as %q, %v", s.Name, again.Name, err)
		}
	})
}
