package imaplib2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWithout: removing a command from a collector list keeps the order of
// the others, from whichever side it is taken.
func TestWithout(t *testing.T) {
	cmds := make([]*Command, 6)
	for i := range cmds {
		cmds[i] = &Command{seq: uint64(i)}
	}
	seqs := func(list []*Command) (s []uint64) {
		for _, c := range list {
			s = append(s, c.seq)
		}
		return s
	}
	for i, want := range [][]uint64{{1, 2, 3, 4, 5}, {0, 2, 3, 4, 5}, {0, 1, 3, 4, 5}, {0, 1, 2, 4, 5}, {0, 1, 2, 3, 5}, {0, 1, 2, 3, 4}} {
		list := append([]*Command(nil), cmds...)
		assert.Equal(t, want, seqs(without(list, cmds[i])), "without command %d", i)
	}
	list := append([]*Command(nil), cmds...)
	assert.Equal(t, []uint64{0, 1, 2, 3, 4, 5}, seqs(without(list, &Command{})), "a command not in the list")
	for _, c := range cmds {
		list = without(list, c)
	}
	assert.Empty(t, list)
}
