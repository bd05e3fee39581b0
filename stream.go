package imaplib2

import (
	"bytes"
	"io"
	"os/exec"
	"sync"
	"time"
)

// NewStream runs command with `sh -c` and speaks IMAP over its standard
// input and output (imaplib2's IMAP4_stream), e.g. a preauthenticated
// server: NewStream("/usr/lib/dovecot/imap", nil). The command's standard
// error goes to the debug log. Logout and Shutdown close its input and
// reap it; one that has not exited a few seconds later is killed.
func NewStream(command string, opts *Options) (*IMAP4, error) {
	o := withDefaults(opts, 0)
	o.Port = 0
	debug := newDebugLog(o, command)
	cmd := exec.Command("sh", "-c", command)
	cmd.Stderr = &stderrLog{debug: debug}
	// A grandchild that keeps standard error open (an ssh master, say)
	// must not keep Wait, and so Shutdown, from returning.
	cmd.WaitDelay = streamWaitDelay
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, newError(ErrError, "", "cannot start "+command, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, newError(ErrError, "", "cannot start "+command, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, newError(ErrError, "", "cannot start "+command, err)
	}
	debug.event(debugState, "", "opening stream from command %q", command)
	p := &process{cmd: cmd, stdin: stdin, stdout: stdout}
	m, err := start(p, command, o, debug)
	if err != nil {
		p.Close()
		if exit := p.reap(); exit != nil {
			return nil, newError(ErrAbort, "", "command "+command+" exited before the session began", exit)
		}
		return nil, err
	}
	m.onClose = func() { p.reap() }
	return m, nil
}

// streamWaitDelay bounds how long reaping a stream's command waits for its
// standard error to close after the command has exited.
const streamWaitDelay = time.Second

// process is a child process seen as a transport: its stdout to read, its
// stdin to write.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	once   sync.Once
	exit   error
}

func (p *process) Read(b []byte) (int, error)  { return p.stdout.Read(b) }
func (p *process) Write(b []byte) (int, error) { return p.stdin.Write(b) }

// Close closes the child's input, which tells it to end, and our end of
// its output.
func (p *process) Close() error {
	err := p.stdin.Close()
	p.stdout.Close()
	return err
}

// reap waits for the child to exit, killing it if it lingers, and returns
// how it exited.
func (p *process) reap() error {
	p.once.Do(func() {
		kill := time.AfterFunc(3*time.Second, func() { p.cmd.Process.Kill() })
		p.exit = p.cmd.Wait()
		kill.Stop()
	})
	return p.exit
}

// stderrLog writes a child's standard error to the debug log, line by line.
type stderrLog struct {
	debug *debugLog
	mu    sync.Mutex
	buf   []byte
}

func (s *stderrLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		s.debug.event(debugState, "", "stderr: %s", bytes.TrimRight(s.buf[:i], "\r"))
		s.buf = s.buf[i+1:]
	}
}
