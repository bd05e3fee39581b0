package imaplib2

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecretsNeverLogged: at the most verbose debug level, LOGIN passwords
// (quoted or literal) and AUTHENTICATE exchanges (base64 either way) never
// appear in the debug output in any form.
func TestSecretsNeverLogged(t *testing.T) {
	const quotedPassword, literalPassword, token = `s3cr"et`, "pässwörd\r\nx", "\x00alice\x00hunter2"
	var log bytes.Buffer
	m := connect(t, newScriptServer(t, "secrets", `
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready
C: $1 LOGIN alice "s3cr\"et"
S: $1 NO [AUTHENTICATIONFAILED] wrong
C: $2 LOGIN {5}
S: + go
C~ al\r\nx
C:  {13}
S: + go
C~ p\xc3\xa4ssw\xc3\xb6rd\r\nx
C: 
S: $2 NO [AUTHENTICATIONFAILED] wrong
C: $3 AUTHENTICATE PLAIN
S: + c2VydmVyIHNlY3JldA==
C: AGFsaWNlAGh1bnRlcjI=
S: $3 OK [CAPABILITY IMAP4rev1] done
`), &Options{Debug: 5, DebugWriter: &log})
	waitResult(t, m.Login("alice", quotedPassword))
	waitResult(t, m.Login("al\r\nx", literalPassword))
	wait(t, m.Authenticate("PLAIN", func([]byte) ([]byte, error) { return []byte(token), nil }))
	out := log.String()
	for _, secret := range []string{"s3cr", `s3cr\"et`, "pässwörd", "p\xc3\xa4ss", base64.StdEncoding.EncodeToString([]byte(token)), "hunter2", "c2VydmVyIHNlY3JldA==", "server secret"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "<redacted>")
	assert.Contains(t, out, "LOGIN alice <redacted>")
}

// tlsServer serves one TLS connection with a certificate for names, valid
// from notBefore to notAfter, and returns its port and a pool trusting it.
func tlsServer(t *testing.T, names []string, notBefore, notAfter time.Time) (int, *x509.CertPool) {
	t.Helper()
	cert, pool, err := selfSignedCert(names, nil, notBefore, notAfter)
	require.NoError(t, err)
	port := serveOne(t, &tls.Config{Certificates: []tls.Certificate{cert}}, func(conn net.Conn) {
		if conn.(*tls.Conn).Handshake() == nil {
			io.WriteString(conn, "* OK [CAPABILITY IMAP4rev1] ready\r\n")
			io.ReadAll(conn)
		}
	})
	return port, pool
}

// TestTLSVerification: certificates are verified by default; an untrusted,
// expired or wrongly named certificate is refused with ErrAbort.
func TestTLSVerification(t *testing.T) {
	now := time.Now()
	t.Run("trusted", func(t *testing.T) {
		port, pool := tlsServer(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(time.Hour))
		m, err := NewSSL("localhost", &Options{Port: port, TLSConfig: &tls.Config{RootCAs: pool}})
		require.NoError(t, err)
		m.Shutdown()
	})
	for _, tt := range []struct {
		name      string
		names     []string
		from, to  time.Time
		trusted   bool
		wantError string
	}{
		{"self-signed", []string{"localhost"}, now.Add(-time.Hour), now.Add(time.Hour), false, "certificate signed by unknown authority"},
		{"expired", []string{"localhost"}, now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), true, "expired"},
		{"wrong host", []string{"mail.example.org"}, now.Add(-time.Hour), now.Add(time.Hour), true, "not localhost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			port, pool := tlsServer(t, tt.names, tt.from, tt.to)
			opts := &Options{Port: port}
			if tt.trusted {
				opts.TLSConfig = &tls.Config{RootCAs: pool}
			}
			_, err := NewSSL("localhost", opts)
			require.ErrorIs(t, err, ErrAbort)
			assert.Contains(t, err.Error(), tt.wantError)
		})
	}
}
