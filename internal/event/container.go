package event

import "strings"

// Cgroup is the acting task's cgroup in the unified (v2) hierarchy.
type Cgroup struct {
	// ID is the cgroup's id: the inode number of its directory under
	// the cgroup2 mount. 0 when unknown (the event's source gives none).
	ID uint64
	// Path is the cgroup's path from the hierarchy's root ("/" for the
	// root, "/system.slice/docker-<id>.scope"); "" when vigil could not
	// resolve the id (the cgroup was removed first).
	Path string
}

// Namespaces are the inode numbers of the acting task's namespaces, as
// /proc/PID/ns/* shows them ("net:[4026531840]"); 0 where unknown.
type Namespaces struct {
	Pid  uint32 // the pid namespace the task lives in (not pid_for_children)
	Mnt  uint32
	Net  uint32
	User uint32 // the user namespace of the task's credentials
}

// IsZero reports whether no namespace is known.
func (n Namespaces) IsZero() bool { return n == Namespaces{} }

// Container is the container a process runs in, recognised from its
// cgroup path. Values are shared between events: never modify one.
type Container struct {
	// ID is the container's id as its runtime names it: 64 hex digits
	// for docker, containerd/CRI and podman, the machine or container
	// name for systemd-nspawn and LXC.
	ID string
	// Runtime is one of the Runtime* names.
	Runtime string
}

// MatchesID reports whether want names the container: its full id, or,
// for a 64-hex-digit id, a prefix of at least 12 digits (the short form
// docker ps shows).
func (c *Container) MatchesID(want string) bool {
	if c.ID == want {
		return true
	}
	return len(want) >= 12 && len(c.ID) == 64 && isLowerHex(c.ID) && strings.HasPrefix(c.ID, want)
}

// ShortID returns id as people read it: the first 12 digits of a
// 64-hex-digit id (docker ps's form), any other id (a name) whole.
func ShortID(id string) string {
	if len(id) == 64 && isLowerHex(id) {
		return id[:12]
	}
	return id
}

// isLowerHex reports whether s is made of lower-case hex digits only.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Container runtimes, the values of Container.Runtime.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd" // containerd, CRI (Kubernetes) included
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
	RuntimeNspawn     = "systemd-nspawn"
	RuntimeLXC        = "lxc"
	RuntimeKubepods   = "kubernetes" // a kubepods cgroup whose runtime the path does not say
)

// appendContext writes the process's cgroup, namespaces and container
// members, each only when known.
func (p *Process) appendContext(w *objWriter) {
	if p.Cgroup.ID != 0 {
		w.key("cgroup")
		cw := objWriter{b: w.b}
		cw.open()
		cw.uint("id", p.Cgroup.ID)
		if p.Cgroup.Path != "" {
			cw.str("path", p.Cgroup.Path)
		}
		cw.close()
		w.b = cw.b
	}
	if !p.Namespaces.IsZero() {
		n := &p.Namespaces
		w.key("namespaces")
		nw := objWriter{b: w.b}
		nw.open()
		nw.uint("pid", uint64(n.Pid))
		nw.uint("mnt", uint64(n.Mnt))
		nw.uint("net", uint64(n.Net))
		nw.uint("user", uint64(n.User))
		nw.close()
		w.b = nw.b
	}
	if c := p.Container; c != nil {
		w.key("container")
		cw := objWriter{b: w.b}
		cw.open()
		cw.str("id", c.ID)
		cw.str("runtime", c.Runtime)
		cw.close()
		w.b = cw.b
	}
}

// decodeContext reads back what appendContext wrote.
func (p *Process) decodeContext(d *decoder) error {
	if raw, ok := d.m["cgroup"]; ok {
		cd, err := newDecoder(raw)
		if err != nil {
			return err
		}
		p.Cgroup = Cgroup{ID: cd.u64("id"), Path: cd.str("path")}
		if cd.err != nil {
			return cd.err
		}
	}
	if raw, ok := d.m["namespaces"]; ok {
		nd, err := newDecoder(raw)
		if err != nil {
			return err
		}
		p.Namespaces = Namespaces{Pid: nd.u32("pid"), Mnt: nd.u32("mnt"), Net: nd.u32("net"), User: nd.u32("user")}
		if nd.err != nil {
			return nd.err
		}
	}
	if raw, ok := d.m["container"]; ok {
		cd, err := newDecoder(raw)
		if err != nil {
			return err
		}
		p.Container = &Container{ID: cd.str("id"), Runtime: cd.str("runtime")}
		if cd.err != nil {
			return cd.err
		}
	}
	return nil
}
