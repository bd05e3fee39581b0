package imaplib2

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsFor returns a configuration that trusts the script server's certificate.
func tlsFor(srv *scriptServer) *tls.Config {
	return &tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"}
}

func TestStartTLSThenCompress(t *testing.T) {
	big := strings.Repeat("a", 1<<20) // 1 MB of one byte: imaplib2 bug B7 stalled on this
	srv := newScriptServer(t, "starttls+compress", `
S: * OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready
C: $1 STARTTLS
S: $1 OK Begin TLS negotiation now
!starttls
C: $2 CAPABILITY
S: * CAPABILITY IMAP4rev1 AUTH=PLAIN
S: $2 OK done
C: $3 LOGIN alice "pw"
S: $3 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] Logged in
C: $4 COMPRESS DEFLATE
S: $4 OK Begin compression
!compress
C: $5 SELECT INBOX
S: * 1 EXISTS
S: $5 OK [READ-WRITE] done
C: $6 FETCH 1 BODY[]
S: * 1 FETCH (BODY[] {1048576}
S~ `+big+`
S: )
S: $6 OK done
C: $7 APPEND INBOX {1048576}
S: + go
C~ `+big+`
C: 
S: $7 OK done
`)
	m := connect(t, srv, &Options{TLSConfig: tlsFor(srv)})
	res := wait(t, m.StartTLS(nil))
	assert.Equal(t, "OK", res.Type)
	assert.Equal(t, []string{"IMAP4REV1", "AUTH=PLAIN"}, m.Capabilities(), "learned again over TLS")
	_, err := waitResult(t, m.StartTLS(nil))
	assert.ErrorIs(t, err, ErrError, "STARTTLS twice")
	wait(t, m.Login("alice", "pw"))
	require.NoError(t, m.EnableCompression())
	wait(t, m.Select("INBOX", false))
	res = wait(t, m.Fetch("1", "BODY[]"))
	assert.Equal(t, big, string(res.Data[0].Literal))
	wait(t, m.Append("INBOX", "", time.Time{}, []byte(big)))
}

func TestStartTLSNotOffered(t *testing.T) {
	m := session(t, "wrong_state.txt", nil)
	err := waitAborts(t, m.StartTLS(nil)) // imaplib2 raises abort; nothing is sent
	assert.Contains(t, err.Error(), "server does not support STARTTLS")
	wait(t, m.Noop())
}

func TestStartTLSRefused(t *testing.T) {
	m := connect(t, newScriptServer(t, "starttls refused", `
S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
C: $1 STARTTLS
S: $1 NO TLS is not available now
C: $2 NOOP
S: $2 OK done
`), nil)
	err := waitFails(t, m.StartTLS(nil))
	assert.Contains(t, err.Error(), "TLS is not available now")
	wait(t, m.Noop())
}

// TestStartTLSInjection: bytes that follow the STARTTLS OK before the
// handshake must never be read as responses.
func TestStartTLSInjection(t *testing.T) {
	m := connect(t, newScriptServer(t, "starttls injection", `
S: * OK [CAPABILITY IMAP4rev1 STARTTLS] ready
C: $1 STARTTLS
S~ $1 OK Begin TLS\r\n* 1 EXISTS\r\n
!expect-eof
`), nil)
	err := waitAborts(t, m.StartTLS(nil))
	assert.Contains(t, err.Error(), "possible response injection")
	assert.Equal(t, LOGOUT, m.State())
}

func TestNewSSL(t *testing.T) {
	srv := newScriptServer(t, "implicit tls", `
!starttls
S: * OK [CAPABILITY IMAP4rev1] TLS greeting
C: $1 NOOP
S: $1 OK done
`)
	leaks := newLeakBaseline()
	m, err := NewSSL(srv.Host(), &Options{Port: srv.Port(), TLSConfig: tlsFor(srv)})
	require.NoError(t, err)
	wait(t, m.Noop())
	m.Shutdown()
	srv.Wait()
	leaks.check(t)
}

func TestTLSLevel(t *testing.T) {
	_, err := NewSSL("127.0.0.1", &Options{Port: 1, TLSLevel: "tls_insecure"})
	require.ErrorIs(t, err, ErrError)
	assert.Contains(t, err.Error(), `unknown TLS level "tls_insecure"`)
	for level, want := range map[string]uint16{"": tls.VersionTLS12, "tls_secure": tls.VersionTLS12, "tls_no_ssl": tls.VersionTLS10, "tls_compat": tls.VersionTLS10} {
		c, err := tlsConfig(nil, level, "example.org")
		require.NoError(t, err)
		assert.Equal(t, want, c.MinVersion, level)
		assert.Equal(t, "example.org", c.ServerName)
		assert.False(t, c.InsecureSkipVerify)
	}
}

// TestStreamHelperProcess is not a test: NewStream's tests run the test
// binary as a tiny preauthenticated IMAP server over stdin and stdout.
func TestStreamHelperProcess(t *testing.T) {
	if os.Getenv("IMAPLIB2_STREAM_HELPER") != "1" {
		t.Skip("helper process for TestNewStream")
	}
	fmt.Fprint(os.Stderr, "helper: started\n")
	fmt.Print("* PREAUTH [CAPABILITY IMAP4rev1] stream ready\r\n")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		tag, cmd, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		if cmd == "LOGOUT" {
			fmt.Printf("* BYE bye\r\n%s OK done\r\n", tag)
			os.Exit(0)
		}
		fmt.Printf("%s OK %s done\r\n", tag, cmd)
	}
	os.Exit(0)
}

func TestNewStream(t *testing.T) {
	var log bytes.Buffer
	leaks := newLeakBaseline()
	m, err := NewStream("IMAPLIB2_STREAM_HELPER=1 exec "+os.Args[0]+" -test.run=^TestStreamHelperProcess$", &Options{Debug: 1, DebugWriter: &log})
	require.NoError(t, err)
	assert.Equal(t, AUTH, m.State())
	assert.Equal(t, []string{"NOOP done"}, texts(wait(t, m.Noop()).Data))
	assert.Equal(t, "BYE", wait(t, m.Logout()).Type)
	leaks.check(t)
	assert.Contains(t, log.String(), "stderr: helper: started", "the command's stderr goes to the debug log")
}

func TestNewStreamExitsEarly(t *testing.T) {
	_, err := NewStream("echo oops >&2; exit 3", nil)
	require.ErrorIs(t, err, ErrAbort)
	assert.Contains(t, err.Error(), "exited before the session began: exit status 3")
}
