package imaplib2

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"
)

// NewSSL connects to an IMAP server over implicit TLS (imaplib2's
// IMAP4_SSL); the port is opts.Port or 993. The server's certificate is
// verified against the system roots for host unless opts.TLSConfig says
// otherwise.
func NewSSL(host string, opts *Options) (*IMAP4, error) {
	o := withDefaults(opts, IMAP4SSLPort)
	config, err := tlsConfig(o.TLSConfig, o.TLSLevel, hostOrLocal(host))
	if err != nil {
		return nil, err
	}
	conn, err := dial(host, o)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, config)
	if err := handshake(tc, o.Timeout); err != nil {
		conn.Close()
		return nil, newError(ErrAbort, "", "TLS handshake with "+hostOrLocal(host)+" failed", err)
	}
	m, err := start(tc, hostOrLocal(host), o, nil)
	if m != nil {
		m.session.mu.Lock()
		m.session.tls = true
		m.session.mu.Unlock()
	}
	return m, err
}

// tlsLevels maps imaplib2's tls_level names to minimum TLS versions.
var tlsLevels = map[string]uint16{
	"":           tls.VersionTLS12,
	"tls_secure": tls.VersionTLS12,
	"tls_no_ssl": tls.VersionTLS10,
	"tls_compat": tls.VersionTLS10,
}

// tlsConfig returns the configuration to use: a clone of base (or a new
// one), with ServerName defaulting to host and the minimum version of level
// unless base sets one.
func tlsConfig(base *tls.Config, level, host string) (*tls.Config, error) {
	minVersion, ok := tlsLevels[level]
	if !ok {
		return nil, newError(ErrError, "", fmt.Sprintf("unknown TLS level %q (want tls_secure, tls_no_ssl or tls_compat)", level), nil)
	}
	config := &tls.Config{}
	if base != nil {
		config = base.Clone()
	}
	if config.ServerName == "" {
		config.ServerName = host
	}
	if config.MinVersion == 0 {
		config.MinVersion = minVersion
	}
	return config, nil
}

// handshake runs the TLS handshake within timeout (0: none).
func handshake(tc *tls.Conn, timeout time.Duration) error {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return tc.HandshakeContext(ctx)
}

// upgradeTLS switches the connection to TLS after STARTTLS's tagged OK,
// while the reader waits. Bytes the server sent after that OK, before the
// handshake, would be read as if they came over TLS: they are refused as a
// response injection.
func (m *IMAP4) upgradeTLS(c *Command) error {
	if n := m.rr.r.Buffered(); n > 0 {
		return fmt.Errorf("%w: server sent %d bytes after the STARTTLS response, before the TLS handshake (possible response injection)", errProtocol, n)
	}
	base := c.tlsConfig
	if base == nil {
		base = m.opts.TLSConfig
	}
	config, err := tlsConfig(base, m.opts.TLSLevel, m.host)
	if err != nil {
		return err
	}
	tc := tls.Client(m.raw, config)
	if err := handshake(tc, m.opts.Timeout); err != nil {
		return fmt.Errorf("TLS handshake failed: %w", err)
	}
	m.setStreams(tc, tc)
	m.session.mu.Lock()
	m.session.tls = true
	m.session.mu.Unlock()
	return nil
}

// pipeConn lets TLS run over a transport that is not a net.Conn (NewConn,
// NewStream); deadlines are not supported.
type pipeConn struct{ io.ReadWriteCloser }

func (pipeConn) LocalAddr() net.Addr                { return pipeAddr{} }
func (pipeConn) RemoteAddr() net.Addr               { return pipeAddr{} }
func (pipeConn) SetDeadline(t time.Time) error      { return nil }
func (pipeConn) SetReadDeadline(t time.Time) error  { return nil }
func (pipeConn) SetWriteDeadline(t time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
