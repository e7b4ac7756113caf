package output

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// fileDetails writes the details of a file-tampering event (docs/events.md):
//
//	unlink   [SYSCALL] PATH [FLAGS] = RESULT
//	rename   [SYSCALL] PATH -> NEW_PATH [FLAGS] = RESULT
//	link     [SYSCALL] PATH => NEW_PATH [FLAGS] = RESULT
//	symlink  [SYSCALL] PATH -> TARGET = RESULT
//	chmod    [SYSCALL] PATH mode=MODE [setuid|setgid|sticky|world_writable] = RESULT
//	chown    [SYSCALL] PATH uid=UID gid=GID = RESULT
func fileDetails(b *strings.Builder, t event.Type, f *event.File) {
	if f.Syscall != "" {
		b.WriteString(f.Syscall)
		b.WriteByte(' ')
	}
	b.WriteString(q(f.Path))
	switch t {
	case event.TypeRename:
		fmt.Fprintf(b, " -> %s", q(f.NewPath))
	case event.TypeLink:
		fmt.Fprintf(b, " => %s", q(f.NewPath))
	case event.TypeSymlink:
		fmt.Fprintf(b, " -> %s", q(f.Target))
	case event.TypeChmod:
		fmt.Fprintf(b, " mode=%s", strconv.FormatUint(uint64(f.Mode&0o7777), 8))
		if bits := event.ModeBitNames(f.Mode); len(bits) > 0 {
			b.WriteString(" " + strings.Join(bits, "|"))
		}
	case event.TypeChown:
		fmt.Fprintf(b, " uid=%d gid=%d", f.Uid, f.Gid)
	}
	if f.Flags != 0 {
		b.WriteString(" " + strings.Join(event.FileFlagNames(t, f.Flags), "|"))
	}
	if f.Via != "" {
		b.WriteString(" via=" + f.Via)
	}
	if f.Unresolved {
		b.WriteString(" UNRESOLVED")
	}
	b.WriteString(result(f.Result))
}
