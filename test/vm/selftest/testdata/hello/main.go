// Command hello is a helper for TestHelper: it proves run.sh prebuilds
// helpers from testdata for the guest, which has no Go toolchain.
package main

import "fmt"

func main() { fmt.Println("hello from a helper") }
