package imaplib2

import (
	"compress/flate"
	"io"
)

// startCompression switches both directions to raw DEFLATE (RFC 4978) after
// COMPRESS's tagged OK, while the reader waits. The inflater reads from the
// old buffered reader, so compressed bytes that arrived with the OK are not
// lost; every write is followed by a sync flush so that the server sees
// each command at once.
func (m *IMAP4) startCompression() error {
	zr := flate.NewReader(m.rr.r)
	zw, err := flate.NewWriter(m.out, flate.DefaultCompression)
	if err != nil {
		return err
	}
	m.setStreams(zr, &syncFlushWriter{zw})
	m.mu.Lock()
	m.compressed = true
	m.mu.Unlock()
	return nil
}

// syncFlushWriter compresses each write completely: it sync-flushes the
// deflater after every write.
type syncFlushWriter struct{ zw *flate.Writer }

func (w *syncFlushWriter) Write(p []byte) (int, error) {
	n, err := w.zw.Write(p)
	if err == nil {
		err = w.zw.Flush()
	}
	return n, err
}

var _ io.Writer = (*syncFlushWriter)(nil)
