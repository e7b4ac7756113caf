package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/proc"
)

// procScan is what one walk over /proc finds.
type procScan struct {
	seccomp []SeccompProcess
	// owners maps a BPF program id to the processes holding it.
	owners map[uint32][]Owner
	// perfAttach maps a BPF program id to where perf events attach it
	// without a BPF link.
	perfAttach map[uint32][]string
	problems   []string
}

// scanProc walks /proc once: each process's status (seccomp) and its
// file descriptors (BPF programs and links it holds, from fdinfo's
// prog_id and link_id). Processes that exit meanwhile are skipped;
// processes whose fds vigil may not read are counted as a problem.
func scanProc(fsys proc.FS) procScan {
	sc := procScan{owners: map[uint32][]Owner{}, perfAttach: map[uint32][]string{}}
	pids, err := fsys.Pids()
	if err != nil {
		sc.problems = append(sc.problems, err.Error())
		return sc
	}
	denied := 0
	for _, id := range pids {
		pid := int(id)
		dir := filepath.Join(string(fsys), strconv.Itoa(pid))
		b, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue // gone
		}
		st, err := proc.ParseStatus(b)
		if err != nil {
			sc.problems = append(sc.problems, fmt.Sprintf("pid %d: %v", pid, err))
			continue
		}
		if st.Seccomp != 0 {
			sc.seccomp = append(sc.seccomp, seccompProcess(dir, pid, &st))
		}
		if err := sc.addOwners(dir, pid, st.Name); errors.Is(err, fs.ErrPermission) {
			denied++
		}
	}
	if denied > 0 {
		sc.problems = append(sc.problems, fmt.Sprintf("BPF owners: not allowed to read the file descriptors of %d processes", denied))
	}
	return sc
}

func seccompProcess(dir string, pid int, st *proc.Status) SeccompProcess {
	p := SeccompProcess{PID: pid, Comm: st.Name, Mode: st.Seccomp, Filters: st.SeccompFilters}
	if b, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		p.StartTime, _ = parseStartTime(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.Cmdline = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	return p
}

// addOwners records the BPF programs and links process pid holds.
func (sc *procScan) addOwners(dir string, pid int, comm string) error {
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return err
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
		if err != nil {
			continue
		}
		if target == "anon_inode:[perf_event]" {
			sc.addPerfEvent(pid, comm, fd.Name())
			continue
		}
		if !strings.HasPrefix(target, "anon_inode:bpf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "fdinfo", fd.Name()))
		if err != nil {
			continue
		}
		info := parseFdinfo(string(b))
		var via string
		switch target {
		case "anon_inode:bpf-prog":
			via = "prog"
		case "anon_inode:bpf_link":
			via = "link " + info["link_id"]
		default:
			continue // maps, BTF
		}
		id, err := strconv.ParseUint(info["prog_id"], 10, 32)
		if err != nil {
			continue
		}
		o := Owner{PID: pid, Comm: comm, Via: via}
		if !containsOwner(sc.owners[uint32(id)], o) {
			sc.owners[uint32(id)] = append(sc.owners[uint32(id)], o)
		}
	}
	return nil
}

// addPerfEvent records the program a perf event fd runs, if any.
func (sc *procScan) addPerfEvent(pid int, comm, fdName string) {
	fd, err := strconv.Atoi(fdName)
	if err != nil {
		return
	}
	id, where, ok := perfEventProgram(pid, fd)
	if !ok {
		return
	}
	o := Owner{PID: pid, Comm: comm, Via: "perf_event"}
	if !containsOwner(sc.owners[id], o) {
		sc.owners[id] = append(sc.owners[id], o)
	}
	sc.perfAttach[id] = append(sc.perfAttach[id], where)
}

func containsOwner(os []Owner, o Owner) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}
