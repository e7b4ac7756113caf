// Package policy loads, validates and compiles vigil's YAML policies: rules
// that log, kill or deny exec, mprotect, module, open, fork and exit events.
//
// The flow is one way: Load reads the files (strict YAML through
// gopkg.in/yaml.v3 nodes walked by package yamldoc, so every position is
// kept), validates every rule and reports all problems at once, then
// compiles the rules into a Set. A Set holds plain per-rule data (Rule,
// Match) that the kernel side turns into BPF map entries, a userspace
// matcher (Set.Match) and the verdict mechanisms each rule needs
// (Set.Needs, Set.Plan). Nothing here touches the kernel: which mechanisms
// exist is probed by the caller and passed in.
//
// A rule may carry a severity and a MITRE ATT&CK id (copied into the
// verdicts of the events it marks by Set.Annotate) and, for log rules,
// except entries that silence it. Set.Replay judges recorded NDJSON
// events offline with the userspace matcher.
//
// Error contract: Load and Plan return nil or an error made with
// errors.Join whose parts are *Error values, each naming file:line:col and
// the field path; a policy with any error yields no Set, so a bad policy
// never half-loads.
package policy
