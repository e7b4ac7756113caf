package doctor

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestAtomicsProbeEncoding checks that the atomics probe really carries
// BPF_CMPXCHG: with an immediate of 0 the kernel reads the instruction
// as BPF_XADD, which 5.10 accepts, and the probe would say yes there.
func TestAtomicsProbeEncoding(t *testing.T) {
	var b bytes.Buffer
	if err := atomicsProbe().Marshal(&b, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	found := false
	for i := 0; i+8 <= len(raw); i += 8 {
		if raw[i] != 0xdb { // BPF_STX | BPF_DW | BPF_ATOMIC
			continue
		}
		found = true
		if imm := binary.LittleEndian.Uint32(raw[i+4:]); imm != bpfCmpXchg {
			t.Errorf("atomic instruction %d has immediate %#x, want BPF_CMPXCHG %#x", i/8, imm, bpfCmpXchg)
		}
	}
	if !found {
		t.Fatalf("no BPF_ATOMIC instruction in the probe: % x", raw)
	}
}
