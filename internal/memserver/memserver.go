// Package memserver runs go-imap's in-memory IMAP server (imapserver +
// imapmemserver) in-process, with one user, for the tests and the demo.
//
// It is internal to imaplib2's module and used only by test code and
// cmd/imapdemo; the library package itself does not depend on go-imap.
package memserver

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Options configure the server that Start runs.
type Options struct {
	// Addr is the TCP address to listen on; empty means "127.0.0.1:0", a
	// free port on the loopback interface.
	Addr string

	// User and Password are the credentials of the server's one user.
	// User must not be empty.
	User, Password string

	// Mailboxes are created empty, in this order, before the server
	// starts; nil means just INBOX.
	Mailboxes []string

	// ExtraCaps are capabilities advertised in addition to IMAP4rev1,
	// IDLE, NAMESPACE, UIDPLUS and LITERAL+ (and those go-imap adds
	// itself), e.g. "MOVE".
	ExtraCaps []string

	// WrapListener, if not nil, wraps the listener before the server
	// accepts connections on it, e.g. to delay what the server sends.
	WrapListener func(net.Listener) net.Listener

	// Logf, if not nil, receives the server's error messages until Close
	// returns; nil discards them.
	Logf func(format string, args ...any)
}

// Server is a running in-memory IMAP server with one user. Its methods
// are safe for concurrent use.
type Server struct {
	srv    *imapserver.Server
	ln     net.Listener // as listened on, before WrapListener
	user   *imapmemserver.User
	idling chan struct{}
	log    *logger
	served chan struct{} // closed when Serve has returned

	closeOnce sync.Once
	closeErr  error
}

// Start listens on opts.Addr and serves IMAP there until Close, with
// opts.User's mailboxes created and empty.
func Start(opts Options) (*Server, error) {
	if opts.User == "" {
		return nil, errors.New("memserver: Options.User is empty")
	}
	mailboxes := opts.Mailboxes
	if mailboxes == nil {
		mailboxes = []string{"INBOX"}
	}
	s := &Server{
		user:   imapmemserver.NewUser(opts.User, opts.Password),
		idling: make(chan struct{}, 1),
		log:    &logger{logf: opts.Logf},
		served: make(chan struct{}),
	}
	for _, name := range mailboxes {
		if err := s.user.Create(name, nil); err != nil {
			return nil, err
		}
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}}
	for _, c := range opts.ExtraCaps {
		caps[imap.Cap(c)] = struct{}{}
	}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{user: s.user, idling: s.idling}, nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       s.log,
	})
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	if s.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, err
	}
	ln := s.ln
	if opts.WrapListener != nil {
		ln = opts.WrapListener(ln)
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address the server listens on, such as 127.0.0.1:40659.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Host is the IP address the server listens on, such as 127.0.0.1.
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.ln.Addr().String())
	return host
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}

// Idling receives when a session enters IDLE. It holds at most one signal
// that nobody received; later ones are dropped until it is received.
//
// go-imap's session registers for mailbox updates just after the signal,
// so a change made right after it may be reported only to the session's
// next command: wait a moment before making the change that should end
// the IDLE.
func (s *Server) Idling() <-chan struct{} { return s.idling }

// Append adds msg to the user's mailbox through the server's own API,
// without flags and with the current time as its internal date.
func (s *Server) Append(mailbox string, msg []byte) error {
	_, err := s.user.Append(mailbox, bytes.NewReader(msg), &imap.AppendOptions{})
	return err
}

// Close stops the server: it closes the listener and every connection and
// waits for the server to stop accepting connections; from then on
// nothing more is logged. Calling Close again returns the first call's
// result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		<-s.served
		s.ln.Close() // in case Serve had not started when Close was called
		s.log.stop()
	})
	return s.closeErr
}

// logger forwards to logf until stopped, as a test's Logf must not be
// called once the test has ended.
type logger struct {
	logf func(format string, args ...any)
	mu   sync.Mutex
	done bool
}

// Printf implements imapserver.Logger.
func (l *logger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done && l.logf != nil {
		l.logf(format, args...)
	}
}

func (l *logger) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

// session is imapmemserver's session for the one user, signalling on
// idling when the client's IDLE has reached the mailbox.
type session struct {
	*imapmemserver.UserSession // nil until LOGIN
	user                       *imapmemserver.User
	idling                     chan struct{}
}

// Login implements imapserver.Session.
func (s *session) Login(username, password string) error {
	if err := s.user.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.user)
	return nil
}

// Idle implements imapserver.Session, signalling before it waits.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	// The update channel is registered inside UserSession.Idle, a moment
	// after this signal.
	select {
	case s.idling <- struct{}{}:
	default:
	}
	return s.UserSession.Idle(w, stop)
}
