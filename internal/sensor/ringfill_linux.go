package sensor

// RingFill reports how many bytes of the ring buffer hold records not
// yet read, and the buffer's size, for the ring-buffer fill metric. It
// is safe to call while Run reads (the positions are loaded atomically),
// but not after Close, which unmaps the buffer.
func (m *Manager) RingFill() (used, size int) {
	if m.reader == nil {
		return 0, 0
	}
	return m.reader.AvailableBytes(), m.reader.BufferSize()
}
