package imaplib2

import (
	"bytes"
	"compress/flate"
	"io"
)

// startCompression switches both directions to raw DEFLATE (RFC 4978) after
// COMPRESS's tagged OK, while the reader waits. The inflater reads from the
// old buffered reader, so compressed bytes that arrived with the OK are not
// lost.
func (m *IMAP4) startCompression() error {
	zr := flate.NewReader(m.rr.r)
	zw, err := newDeflateWriter(m.out)
	if err != nil {
		return err
	}
	m.setStreams(zr, zw)
	m.session.mu.Lock()
	m.session.compressed = true
	m.session.mu.Unlock()
	return nil
}

// deflateWriter compresses each write completely and hands the result to
// the transport in one write: the compressed bytes and the sync-flush
// marker together, so that a server reading record by record (Cyrus over
// TLS) sees each command whole and at once.
type deflateWriter struct {
	zw  *flate.Writer
	buf bytes.Buffer
	out io.Writer
}

func newDeflateWriter(out io.Writer) (*deflateWriter, error) {
	w := &deflateWriter{out: out}
	zw, err := flate.NewWriter(&w.buf, flate.DefaultCompression)
	w.zw = zw
	return w, err
}

func (w *deflateWriter) Write(p []byte) (int, error) {
	if _, err := w.zw.Write(p); err != nil {
		return 0, err
	}
	if err := w.zw.Flush(); err != nil {
		return 0, err
	}
	_, err := w.out.Write(w.buf.Bytes())
	w.buf.Reset()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
