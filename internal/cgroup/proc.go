package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
)

// parseProcCgroup returns the unified hierarchy's path from the text of
// /proc/PID/cgroup (cgroups(7): "hierarchy-ID:controllers:path" lines,
// "0::path" for cgroup v2).
func parseProcCgroup(b []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if p, ok := bytes.CutPrefix(sc.Bytes(), []byte("0::")); ok {
			if len(p) == 0 || p[0] != '/' {
				return "", fmt.Errorf("malformed cgroup v2 line %q", sc.Bytes())
			}
			return string(p), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no cgroup v2 line")
}
