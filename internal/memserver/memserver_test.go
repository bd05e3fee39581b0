package memserver_test

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imaplib2go/imaplib2"
	"github.com/imaplib2go/imaplib2/internal/memserver"
)

func TestStart(t *testing.T) {
	var wrapped atomic.Bool
	srv, err := memserver.Start(memserver.Options{
		User:      "u",
		Password:  "p w",
		Mailboxes: []string{"INBOX", "Archive"},
		ExtraCaps: []string{"MOVE"},
		WrapListener: func(ln net.Listener) net.Listener {
			wrapped.Store(true)
			return ln
		},
		Logf: t.Logf,
	})
	require.NoError(t, err)
	defer srv.Close()
	assert.True(t, wrapped.Load())
	assert.Equal(t, "127.0.0.1", srv.Host())
	assert.NotZero(t, srv.Port())
	assert.True(t, strings.HasPrefix(srv.Addr().String(), "127.0.0.1:"), srv.Addr())
	require.NoError(t, srv.Append("INBOX", []byte("Subject: hi\r\n\r\nhello\r\n")))
	assert.Error(t, srv.Append("Nowhere", []byte("Subject: hi\r\n\r\n")))

	m, err := imaplib2.New(srv.Host(), &imaplib2.Options{Port: srv.Port(), Timeout: 20 * time.Second})
	require.NoError(t, err)
	defer m.Shutdown()
	_, err = m.Login("u", "wrong").Wait()
	assert.ErrorIs(t, err, imaplib2.ErrError)
	_, err = m.Login("u", "p w").Wait()
	require.NoError(t, err)
	assert.Contains(t, m.Capabilities(), "MOVE")
	res, err := m.List(`""`, "*").Wait()
	require.NoError(t, err)
	require.Len(t, res.Data, 2)
	res, err = m.Select("INBOX", false).Wait()
	require.NoError(t, err)
	assert.Equal(t, "1", res.Data[0].Text)

	idle := m.Idle(time.Minute)
	select {
	case <-srv.Idling():
	case <-time.After(10 * time.Second):
		t.Fatal("no Idling signal")
	}
	_, err = m.Noop().Wait()
	require.NoError(t, err)
	_, err = idle.Wait()
	require.NoError(t, err)

	require.NoError(t, srv.Close())
	_, err = m.Noop().Wait()
	assert.ErrorIs(t, err, imaplib2.ErrAbort, "Close closes the connections")
	assert.NoError(t, srv.Close(), "a second Close returns the first one's result")
	_, err = net.DialTimeout("tcp", srv.Addr().String(), time.Second)
	assert.Error(t, err, "Close closes the listener")
}

func TestStartErrors(t *testing.T) {
	_, err := memserver.Start(memserver.Options{})
	assert.Error(t, err, "no user")
	_, err = memserver.Start(memserver.Options{User: "u", Mailboxes: []string{"INBOX", "INBOX"}})
	assert.Error(t, err, "a mailbox twice")
	_, err = memserver.Start(memserver.Options{User: "u", Addr: "256.0.0.1:0"})
	assert.Error(t, err, "a bad address")
}

// TestCloseAtOnce closes the server before it can have started serving.
func TestCloseAtOnce(t *testing.T) {
	for range 20 {
		srv, err := memserver.Start(memserver.Options{User: "u"})
		require.NoError(t, err)
		addr := srv.Addr().String()
		srv.Close()
		_, err = net.DialTimeout("tcp", addr, time.Second)
		assert.Error(t, err, "the listener is closed")
	}
}
