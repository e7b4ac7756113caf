package dynhook

import "fmt"

func fmtv(v any) string { return fmt.Sprintf("%v", v) }
