package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

var lostHeader = []string{"server", "sent", "ok", "got", "statuses"}

// LostUpdateHeader returns the header row of the lost-update CSV.
func LostUpdateHeader() []string { return slices.Clone(lostHeader) }

// ReadLostUpdates parses a lost-update CSV.
func ReadLostUpdates(r io.Reader) ([]LostUpdate, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], lostHeader) {
		return nil, fmt.Errorf("%w: the header must be %s", ErrFormat, strings.Join(lostHeader, ","))
	}
	var out []LostUpdate
	for i, row := range rows[1:] {
		sent, err1 := strconv.ParseInt(row[1], 10, 64)
		ok, err2 := strconv.ParseInt(row[2], 10, 64)
		got, err3 := strconv.ParseInt(row[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || row[0] == "" {
			return nil, fmt.Errorf("%w: row %d: %q", ErrFormat, i+2, row)
		}
		out = append(out, LostUpdate{Server: row[0], Sent: sent, OK: ok, Got: got, Statuses: row[4]})
	}
	return out, nil
}
