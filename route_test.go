package imaplib2

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// The unsolicited store against a plain list: whether it counts its entries
// by type (from countedStore on) or not, take returns what the list holds,
// in order, discardStatus drops OK, NO and BAD, and the oldest entries make
// room beyond the limit.
func TestUnsolicitedStoreAgainstList(t *testing.T) {
	types := []string{"EXISTS", "RECENT", "FLAGS", "OK", "NO", "FETCH"}
	rng := rand.New(rand.NewPCG(1, 2))
	s := unsolicitedStore{limit: 2 * countedStore}
	var list []entry
	counted, full := 0, 0
	for i := range 5000 {
		typ := types[rng.IntN(len(types))]
		switch op := rng.IntN(400); {
		case op == 0:
			s.flush()
			list = nil
		case op < 8:
			s.discardStatus()
			list = slices.DeleteFunc(list, func(e entry) bool { return e.typ == "OK" || e.typ == "NO" || e.typ == "BAD" })
		case op < 15:
			var want []Datum
			var kept []entry
			for _, e := range list {
				if e.typ == typ {
					want = append(want, e.data...)
				} else {
					kept = append(kept, e)
				}
			}
			list = kept
			require.Equal(t, want, s.take(typ), "take %s at step %d", typ, i)
		default:
			e := entry{seq: uint64(i), typ: typ, data: []Datum{{Text: strconv.Itoa(i)}}}
			s.add(e)
			if list = append(list, e); len(list) > s.limit {
				list = list[1:]
			}
		}
		require.Len(t, s.entries, len(list), "entries at step %d", i)
		if len(list) == s.limit {
			full++
		}
		if s.counts != nil {
			counted++
			for _, typ := range types {
				n := 0
				for _, e := range list {
					if e.typ == typ {
						n++
					}
				}
				require.Equal(t, n, s.counts[typ], "count of %s at step %d", typ, i)
			}
		}
	}
	require.Positive(t, counted, "steps with counted entries")
	require.Positive(t, full, "steps with a full store")
}
