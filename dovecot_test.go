package imaplib2

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	dovecotMaster = "/usr/sbin/dovecot"
	dovecotIMAP   = "/usr/lib/dovecot/imap"
	dovecotUID    = 64143 // numeric owner of all mail; not a system account
	dovecotSkip   = "dovecot not installed: run apt-get install -y dovecot-imapd to run the Dovecot tests"
)

// dovecotServer is a private Dovecot instance started for the tests.
type dovecotServer struct {
	Dir           string            // temp dir holding config, certs, mail
	Host          string            // "127.0.0.1"
	Port          int               // plain + STARTTLS listener
	TLSPort       int               // implicit TLS listener
	CAPool        *x509.CertPool    // verifies the server certificate for "localhost" / 127.0.0.1
	Users         map[string]string // user -> password: alice, bob (read-only)
	StreamCommand string            // sh -c command running /usr/lib/dovecot/imap preauthenticated as alice

	cmd    *exec.Cmd
	exited chan struct{} // closed when the master has exited
	next   atomic.Int64  // last user number handed out by newUser

	introspection *httptest.Server // the OAuth 2.0 token introspection endpoint (RFC 7662) of the oauth2 passdb
	tokens        sync.Map         // the valid tokens: token -> user
}

var (
	dovecotOnce   sync.Once
	dovecotShared *dovecotServer
	dovecotErr    error
)

// TestMain runs the tests and stops the shared Dovecot, if one was started.
func TestMain(m *testing.M) {
	code := m.Run()
	if dovecotShared != nil {
		dovecotShared.stop()
	}
	os.Exit(code)
}

// startDovecot returns the Dovecot shared by the whole test binary, starting
// it on first use. It skips the test if Dovecot is not installed, unless
// CI=true, where that is a failure. Use newUser for a private mail store.
func startDovecot(t testing.TB) *dovecotServer {
	t.Helper()
	for _, bin := range []string{dovecotMaster, dovecotIMAP} {
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(dovecotSkip)
			}
			t.Skip(dovecotSkip)
		}
	}
	dovecotOnce.Do(func() { dovecotShared, dovecotErr = launchDovecot() })
	if dovecotErr != nil {
		t.Fatalf("starting dovecot: %v", dovecotErr)
	}
	return dovecotShared
}

// newUser adds a user unique to the calling test ("t1", "t2", ...) to the
// running server and returns its name and password. Each user has its own
// passwd-file, Dir/users/<name>, which Dovecot opens on the first lookup, so
// a new user can log in at once. (A single shared file would not do: Dovecot
// re-reads it at most once a second, and a user added within that second is
// unknown.)
func (d *dovecotServer) newUser(t testing.TB) (user, password string) {
	t.Helper()
	user = fmt.Sprintf("t%d", d.next.Add(1))
	password = user + "-pw"
	if err := d.addUser(user, password); err != nil {
		t.Fatalf("adding dovecot user: %v", err)
	}
	return user, password
}

// addUser creates the user's home and passwd-file.
func (d *dovecotServer) addUser(user, password string) error {
	home := filepath.Join(d.Dir, "mail", user)
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	if err := os.Chown(home, dovecotUID, dovecotUID); err != nil {
		return err
	}
	line := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::\n", user, password, dovecotUID, dovecotUID, home)
	return os.WriteFile(filepath.Join(d.Dir, "users", user), []byte(line), 0o644)
}

// newOAuthUser adds a user, like newUser, whose passdb is oauth2 (its
// name starts with "oauth", which the oauth2 passdb's username_filter
// asks for): it logs in with XOAUTH2 or OAUTHBEARER and the token this
// returns, which the introspection endpoint reports active for that user.
func (d *dovecotServer) newOAuthUser(t testing.TB) (user, token string) {
	t.Helper()
	user = fmt.Sprintf("oauth%d", d.next.Add(1))
	if err := d.addUser(user, rand.Text()); err != nil {
		t.Fatalf("adding dovecot user: %v", err)
	}
	token = "token-" + rand.Text()
	d.tokens.Store(token, user)
	return user, token
}

// introspect is the token introspection endpoint (RFC 7662) that the
// oauth2 passdb posts tokens to: active, with the user's name, for the
// tokens newOAuthUser handed out; inactive for any other.
func (d *dovecotServer) introspect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	user, ok := d.tokens.Load(r.PostFormValue("token"))
	if !ok {
		io.WriteString(w, `{"active":false}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"active": true, "username": user})
}

// dovecotOAuth2Conf configures the oauth2 passdb; the argument is the
// introspection endpoint's URL.
const dovecotOAuth2Conf = `
introspection_mode = post
introspection_url = %s/introspect
username_attribute = username
active_attribute = active
active_value = true
`

// dovecotMailConf is shared by the daemon and the stream configurations.
const dovecotMailConf = `
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  # RFC 6154 attributes of these names, once a test creates them (not
  # auto-created: a new user's LIST is INBOX alone)
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Junk {
    special_use = \Junk
  }
}
mail_plugins = $mail_plugins acl quota zlib
protocol imap {
  mail_plugins = $mail_plugins imap_acl imap_quota imap_zlib
  mail_max_userip_connections = 500
  imap_idle_notify_interval = 10 secs
}
mailbox_idle_check_interval = 1 secs
plugin {
  acl = vfile
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_vsizes = yes
}
first_valid_uid = 1000
first_valid_gid = 1000
`

// dovecotConf is the daemon configuration; the arguments are the directory,
// the plain port and the TLS port.
const dovecotConf = `
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 xoauth2 oauthbearer
auth_failure_delay = 0
passdb {
  driver = oauth2
  args = %[1]s/oauth2.conf
  username_filter = oauth*
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users/%%u
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/users/%%u
}
service imap-login {
  service_count = 0
  process_min_avail = 2
  inet_listener imap {
    port = %[2]d
  }
  inet_listener imaps {
    port = %[3]d
    ssl = yes
  }
}
service auth {
  client_limit = 2000
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap {
  service_count = 0
  process_min_avail = 4
}
`

// dovecotStreamConf configures the standalone imap binary; the argument is
// the directory.
const dovecotStreamConf = `
base_dir = %[1]s/stream-run
ssl = no
mail_uid = 64143
mail_gid = 64143
mail_home = %[1]s/mail/%%u
`

// launchDovecot creates the directory, certificates and users and starts the
// master, retrying with new ports if it cannot bind.
func launchDovecot() (*dovecotServer, error) {
	dir, err := os.MkdirTemp("", "imaplib2-dovecot-")
	if err != nil {
		return nil, err
	}
	d := &dovecotServer{Dir: dir, Host: "127.0.0.1", Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}}
	fail := func(err error) (*dovecotServer, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fail(err)
	}
	for _, sub := range []string{"run", "state", "stream-run", "mail", "users"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return fail(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), dovecotUID, dovecotUID); err != nil {
		return fail(err)
	}
	if d.CAPool, err = writeDovecotCerts(dir); err != nil {
		return fail(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := d.addUser(u, d.Users[u]); err != nil {
			return fail(err)
		}
	}
	d.startIntrospection()
	fail = func(err error) (*dovecotServer, error) {
		d.introspection.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	oauth2 := fmt.Sprintf(dovecotOAuth2Conf, d.introspection.URL)
	if err := os.WriteFile(filepath.Join(dir, "oauth2.conf"), []byte(oauth2), 0o644); err != nil {
		return fail(err)
	}
	stream := filepath.Join(dir, "stream.conf")
	if err := os.WriteFile(stream, []byte(fmt.Sprintf(dovecotStreamConf, dir)+dovecotMailConf), 0o644); err != nil {
		return fail(err)
	}
	d.StreamCommand = d.streamCommand("alice")

	for attempt := 1; ; attempt++ {
		retry, err := d.run()
		if err == nil {
			return d, nil
		}
		if !retry || attempt == 5 {
			return fail(err)
		}
	}
}

// startIntrospection starts the introspection endpoint. A goroutine that
// ends at once starts it, so that the leak checker traces neither the
// server's goroutines nor those of its connections to the test that
// happened to start Dovecot. Keep-alives are off: every connection ends
// with its request.
func (d *dovecotServer) startIntrospection() {
	started := make(chan struct{})
	go func() {
		defer close(started)
		d.introspection = httptest.NewUnstartedServer(http.HandlerFunc(d.introspect))
		d.introspection.Config.SetKeepAlivesEnabled(false)
		d.introspection.Start()
	}()
	<-started
}

// streamCommand returns a sh -c command running the standalone imap binary
// preauthenticated as user (such as one from newUser), on the same mail as
// the daemon. Its log goes to Dir/stream.log: standalone imap logs to stderr
// whatever log_path says.
func (d *dovecotServer) streamCommand(user string) string {
	return fmt.Sprintf("cd %s && exec env -i USER=%s PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=%s %s -c %s 2>>stream.log",
		dovecotShellQuote(d.Dir), dovecotShellQuote(user), dovecotShellQuote(filepath.Join(d.Dir, "mail", user)),
		dovecotIMAP, dovecotShellQuote(filepath.Join(d.Dir, "stream.conf")))
}

// run picks two free ports, writes the configuration and starts the master,
// returning once both listeners greet. It reports whether to retry: the
// master exits early when a port was taken in the meantime.
func (d *dovecotServer) run() (retry bool, err error) {
	if d.Port, d.TLSPort, err = dovecotFreePorts(); err != nil {
		return false, err
	}
	cfg := filepath.Join(d.Dir, "dovecot.conf")
	conf := fmt.Sprintf(dovecotConf, d.Dir, d.Port, d.TLSPort) + dovecotMailConf
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return false, err
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "master.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer out.Close()
	d.cmd = exec.Command(dovecotMaster, "-F", "-c", cfg)
	d.cmd.Stdout, d.cmd.Stderr = out, out
	// Pdeathsig stops the master if the test binary dies without TestMain.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return false, err
	}
	d.exited = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.exited) }()

	deadline := time.Now().Add(15 * time.Second)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		err = dovecotGreets(d.Host, d.Port, d.TLSPort)
		if err == nil {
			return false, nil
		}
		if time.Now().After(deadline) {
			d.kill()
			return false, fmt.Errorf("dovecot not ready after 15s: %v\n%s", err, d.logTail())
		}
		select {
		case <-d.exited:
			return true, fmt.Errorf("dovecot exited: %v\n%s", d.cmd.ProcessState, d.logTail())
		case <-time.After(backoff):
		}
	}
}

// dovecotFreePorts returns two distinct loopback ports that were free a moment ago.
func dovecotFreePorts() (int, int, error) {
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		defer l.Close() // held until both are picked, so they differ
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

// dovecotGreets reports whether both listeners send an "* OK" greeting.
func dovecotGreets(host string, port, tlsPort int) error {
	for _, p := range []int{port, tlsPort} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(p)), time.Second)
		if err != nil {
			return err
		}
		if p == tlsPort {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "* OK") {
			return fmt.Errorf("port %d greeted %q", p, line)
		}
	}
	return nil
}

// logTail returns the end of the master's output and log, for errors.
func (d *dovecotServer) logTail() string {
	var b strings.Builder
	for _, name := range []string{"master.out", "dovecot.log"} {
		data, _ := os.ReadFile(filepath.Join(d.Dir, name))
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s", name, data)
	}
	return b.String()
}

// stop stops the master and removes the directory, unless
// IMAPLIB2_KEEP_DOVECOT is set (to read its logs and configuration).
func (d *dovecotServer) stop() {
	d.kill()
	d.introspection.Close()
	if os.Getenv("IMAPLIB2_KEEP_DOVECOT") != "" {
		fmt.Fprintf(os.Stderr, "kept dovecot dir %s\n", d.Dir)
		return
	}
	os.RemoveAll(d.Dir)
}

// kill sends SIGTERM to the master and waits for it to exit, falling back
// to SIGKILL for its whole process group after 10 seconds.
func (d *dovecotServer) kill() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

// writeDovecotCerts writes a server certificate for localhost and 127.0.0.1,
// signed by a fresh CA, and returns a pool holding that CA.
func writeDovecotCerts(dir string) (*x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "imaplib2 test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

// dovecotShellQuote quotes s for sh.
func dovecotShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TestDovecotFixture checks the fixture with raw connections: greetings,
// LOGIN, STARTTLS, implicit TLS verification and the preauthenticated stream.
func TestDovecotFixture(t *testing.T) {
	d := startDovecot(t)
	user, pass := d.newUser(t)
	addr := func(port int) string { return net.JoinHostPort(d.Host, fmt.Sprint(port)) }
	good := &tls.Config{RootCAs: d.CAPool, ServerName: "localhost"}

	c, r := dovecotDial(t, addr(d.Port), nil)
	line := dovecotCommand(t, c, r, "a LOGIN "+user+" "+pass)
	require.True(t, strings.HasPrefix(line, "a OK"), "LOGIN %s: %q", user, line)
	t.Logf("post-login: %s", line)
	for _, capa := range []string{"COMPRESS=DEFLATE", " ACL", " QUOTA", " IDLE"} {
		assert.Contains(t, line, capa, "post-login capabilities")
	}

	c, r = dovecotDial(t, addr(d.Port), nil)
	line = dovecotCommand(t, c, r, "s STARTTLS")
	require.True(t, strings.HasPrefix(line, "s OK"), "STARTTLS: %q", line)
	tc := tls.Client(c, good)
	line = dovecotCommand(t, tc, bufio.NewReader(tc), "b LOGIN alice "+d.Users["alice"])
	require.True(t, strings.HasPrefix(line, "b OK"), "LOGIN alice after STARTTLS: %q", line)

	dovecotDial(t, addr(d.TLSPort), good)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	_, err := tls.DialWithDialer(dialer, "tcp", addr(d.TLSPort), &tls.Config{RootCAs: d.CAPool, ServerName: "wrong.example"})
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr, "TLS with wrong ServerName")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", d.StreamCommand)
	cmd.Stdin = strings.NewReader("a CAPABILITY\r\nb LOGOUT\r\n")
	out, err := cmd.Output()
	require.NoError(t, err, "stream command")
	require.True(t, strings.HasPrefix(string(out), "* PREAUTH"), "stream command: want PREAUTH, got %q", out)
	assert.Contains(t, string(out), " ACL", "stream command")
	greeting, _, _ := strings.Cut(string(out), "\r\n")
	t.Logf("stream: %s", greeting)
}

// dovecotDial connects (with TLS if config is not nil), checks the "* OK"
// greeting and closes the connection when the test ends.
func dovecotDial(t *testing.T, addr string, config *tls.Config) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if config != nil {
		c = tls.Client(c, config)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	require.True(t, strings.HasPrefix(line, "* OK"), "greeting from %s: %q, %v", addr, line, err)
	return c, r
}

// dovecotCommand sends a tagged command and returns its completion line.
func dovecotCommand(t *testing.T, w io.Writer, r *bufio.Reader, cmd string) string {
	t.Helper()
	tag, _, _ := strings.Cut(cmd, " ")
	_, err := io.WriteString(w, cmd+"\r\n")
	require.NoError(t, err)
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err, cmd)
		if strings.HasPrefix(line, tag+" ") {
			return strings.TrimRight(line, "\r\n")
		}
	}
}
