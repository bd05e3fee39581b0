package imaplib2

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunkedReader hands out at most size bytes per Read, as a socket does,
// and counts the calls.
type chunkedReader struct {
	r     io.Reader
	size  int
	reads int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p[:min(len(p), c.size)])
}

// A connection that carries a steady stream of responses never finds its
// small read buffer empty between two of them. It must still get the large
// buffer, without losing the bytes the small one holds.
func TestReadBufferGrowsUnderStream(t *testing.T) {
	var wire strings.Builder
	const messages, size = 400, 2000
	for i := 1; i <= messages; i++ {
		body := strings.Repeat(string(rune('a'+i%26)), size)
		fmt.Fprintf(&wire, "* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n", i, 100+i, size, body)
	}
	total := wire.Len()
	src := &chunkedReader{r: strings.NewReader(wire.String()), size: 16 << 10}
	rr := newResponseReader(src, DefaultMaxLineSize, DefaultMaxLiteralSize)
	for i := 1; i <= messages; i++ {
		r, err := rr.read()
		require.NoError(t, err, "response %d", i)
		require.Len(t, r.data, 2, "response %d", i)
		require.Equal(t, fmt.Sprintf("%d (UID %d BODY[] {%d}", i, 100+i, size), r.data[0].Text)
		require.Equal(t, strings.Repeat(string(rune('a'+i%26)), size), string(r.data[0].Literal), "literal of response %d", i)
		require.Equal(t, ")", r.data[1].Text)
	}
	_, err := rr.read()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, largeReadBuffer, rr.r.Size(), "read buffer after %d bytes", total)
	// With the small buffer for the whole stream it would take more than
	// total/smallReadBuffer reads; with the large one, about total/16 KiB.
	require.Less(t, src.reads, busyConnection/smallReadBuffer+total/(8<<10),
		"reads of the source for %d bytes", total)
}
