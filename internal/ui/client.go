package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/proc"
)

// FetchTree asks the agent serving the view at addr (host:port, or a
// URL) for its process tree; only pid's branch when pid is not 0.
func FetchTree(ctx context.Context, addr string, pid uint32) (*Tree, error) {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	url := strings.TrimSuffix(base, "/") + "/api/tree"
	if pid != 0 {
		url += "?pid=" + strconv.FormatUint(uint64(pid), 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("asking %s for the tree: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s for the tree: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("asking %s for the tree: %s: %s", addr, resp.Status, strings.TrimSpace(string(msg)))
	}
	var t Tree
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return nil, fmt.Errorf("decoding the tree from %s: %w", addr, err)
	}
	return &t, nil
}

// ErrNoProcess is returned by PrintTree when the branch asked for has
// no process.
var ErrNoProcess = errors.New("no such process")

// PrintTree writes the process tree as WriteText does: the agent's at
// from (its --ui address) when from is set, with the rules processes
// triggered; otherwise the one procfs shows. pid, when not 0, narrows it
// to that process's branch.
func PrintTree(ctx context.Context, w io.Writer, from string, pid uint32) error {
	var t *Tree
	var err error
	if from != "" {
		t, err = FetchTree(ctx, from, pid)
	} else if t, err = ProcTree(proc.Host); err == nil && pid != 0 {
		t.Processes = Branch(t.Processes, pid)
	}
	if err != nil {
		return err
	}
	if pid != 0 && len(t.Processes) == 0 {
		return fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
	}
	return WriteText(w, t.Processes)
}
