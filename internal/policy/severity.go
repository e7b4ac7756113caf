package policy

import (
	"fmt"
	"regexp"
)

// Severity ranks a rule's matches for people and for alert routing.
type Severity string

// The severities, least urgent first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// severities lists the severities in order.
var severities = []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// ParseSeverity returns the Severity named s, or false when s names none.
func ParseSeverity(s string) (Severity, bool) {
	for _, v := range severities {
		if string(v) == s {
			return v, true
		}
	}
	return "", false
}

// Rank returns the position of v among the severities, 1 (info) to 5
// (critical), and 0 for a rule without one.
func (v Severity) Rank() int {
	for i, x := range severities {
		if x == v {
			return i + 1
		}
	}
	return 0
}

// mitreID is the shape of an ATT&CK technique id: T and four digits, and
// for a sub-technique a dot and three more (T1003, T1003.008).
var mitreID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// checkMitre returns "" for a well-formed technique id, or a message.
func checkMitre(s string) string {
	if !mitreID.MatchString(s) {
		return fmt.Sprintf("bad MITRE ATT&CK technique id %q: write T and four digits, with .NNN for a sub-technique (T1003, T1003.008)", s)
	}
	return ""
}
