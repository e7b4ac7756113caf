package cgroup

import (
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// scopeLayout is one runtime's name for a container's own cgroup: a
// component prefix + id + optional suffix.
type scopeLayout struct {
	prefix  string
	runtime string
	hexID   bool // the id is 64 hex digits (else a systemd-escaped name)
}

// scopeLayouts are the components that name a container by themselves.
// The ".scope" suffix is optional: systemd's cgroup driver adds it, the
// cgroupfs drivers do not (podman's /libpod_parent/libpod-<id>).
// The runtimes' monitors (crio-conmon-, libpod-conmon-, lxc.monitor.)
// are not containers and match none.
var scopeLayouts = []scopeLayout{
	{"docker-", event.RuntimeDocker, true},
	{"cri-containerd-", event.RuntimeContainerd, true},
	{"crio-", event.RuntimeCRIO, true},
	{"libpod-", event.RuntimePodman, true},
	{"machine-", event.RuntimeNspawn, false},
	{"lxc.payload.", event.RuntimeLXC, false},
}

// parentLayouts are directories whose children are containers named by
// id or name (the cgroupfs drivers and older LXC).
var parentLayouts = map[string]scopeLayout{
	"docker":      {runtime: event.RuntimeDocker, hexID: true},
	"lxc":         {runtime: event.RuntimeLXC},
	"lxc.payload": {runtime: event.RuntimeLXC},
}

// ParseContainer returns the container that the cgroup path p (as in
// /proc/PID/cgroup's "0::" line, or Resolver's) belongs to, or nil for a
// host cgroup. It looks at the deepest matching component, so that a
// cgroup below a container's (systemd in the container, a nested
// container) belongs to the innermost container:
//
//	/system.slice/docker-<id>.scope              docker (systemd driver)
//	/docker/<id>                                 docker (cgroupfs driver)
//	/kubepods.slice/.../cri-containerd-<id>.scope containerd, CRI
//	/kubepods/burstable/pod<uid>/<id>            Kubernetes (cgroupfs driver)
//	/kubepods.slice/.../crio-<id>.scope          CRI-O
//	/machine.slice/libpod-<id>.scope             podman
//	/machine.slice/machine-<name>.scope          systemd-nspawn
//	/lxc.payload.<name>, /lxc/<name>             LXC
//
// Docker, containerd, CRI-O and podman ids must be 64 hex digits. A
// machine-*.scope whose name starts with "qemu-" is a libvirt virtual
// machine, not a container, and is not reported.
func ParseContainer(p string) *event.Container {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		c := parts[i]
		if c == "" {
			continue
		}
		if ct := parseScope(c); ct != nil {
			return ct
		}
		if i == 0 {
			break
		}
		parent := parts[i-1]
		if l, ok := parentLayouts[parent]; ok && (!l.hexID || isHexID(c)) {
			return &event.Container{ID: c, Runtime: l.runtime}
		}
		if isHexID(c) && underKubepods(parts[:i]) {
			return &event.Container{ID: c, Runtime: event.RuntimeKubepods}
		}
	}
	return nil
}

// parseScope matches one component against scopeLayouts.
func parseScope(c string) *event.Container {
	for _, l := range scopeLayouts {
		id, ok := strings.CutPrefix(c, l.prefix)
		if !ok {
			continue
		}
		id = strings.TrimSuffix(id, ".scope")
		if l.hexID {
			if !isHexID(id) {
				continue
			}
			return &event.Container{ID: id, Runtime: l.runtime}
		}
		id = unescapeUnit(id)
		if id == "" || (l.runtime == event.RuntimeNspawn && strings.HasPrefix(id, "qemu-")) {
			continue
		}
		return &event.Container{ID: id, Runtime: l.runtime}
	}
	return nil
}

// underKubepods reports whether a Kubernetes pod cgroup is among parts.
func underKubepods(parts []string) bool {
	for _, p := range parts {
		if p == "kubepods" || strings.HasPrefix(p, "kubepods.") || strings.HasPrefix(p, "kubepods-") {
			return true
		}
	}
	return false
}

// isHexID reports whether s is a 64-digit lower-case hex container id.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// unescapeUnit undoes systemd's unit name escaping (systemd.unit(5):
// "\xNN" for bytes other than [a-zA-Z0-9:_.]; "-" is written "\x2d").
// A malformed escape is kept as is.
func unescapeUnit(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
