// Package selftest proves the VM matrix (test/vm/run.sh) can exercise what
// our hosts refuse: fentry, fexit and kprobes on kernel_clone, and a BPF LSM
// program that denies an exec. It has no code of its own, only tests; the
// programs are built with cilium/ebpf's assembler so no C toolchain is needed.
//
// On a host that refuses a mechanism its test skips with the kernel's error;
// inside the matrix every test must pass.
package selftest
