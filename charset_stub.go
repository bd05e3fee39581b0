package imaplib2

import "strings"

func decodeHeader(s string) string { return s }

func decodeParams(pairs [][2]string) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, p := range pairs {
		m[strings.ToLower(p[0])] = p[1]
	}
	return m
}
