package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/token"
)

// TestRefreshRaceAcrossInstances sends ten refreshes of one refresh token
// at once, spread over three instances on one store, as tabs and retries
// of one client do: every one succeeds with the same new refresh token,
// each with an access token of its own. Replayed after the grace window,
// the spent token revokes the login, and the new token with it.
func TestRefreshRaceAcrossInstances(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) server.Backend{
		"memory": func(t *testing.T) server.Backend { return newMem(t) },
		"redis":  openRedis,
	} {
		t.Run(name, func(t *testing.T) { refreshRace(t, open(t)) })
	}
}

func refreshRace(t *testing.T, st server.Backend) {
	clk := newClock()
	var instances []*httptest.Server
	for range 3 {
		instances = append(instances, newServer(t, st, server.Config{Now: clk.Now}))
	}
	newBrowser(t, instances[0].URL).register("kim", "password one")
	_, refresh := apiLogin(t, instances[0].URL, "kim", "password one")

	type answer struct {
		status          int
		access, refresh string
	}
	answers := make([]answer, 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			resp, err := http.Post(instances[i%3].URL+"/api/refresh", "application/json",
				strings.NewReader(`{"refresh_token":"`+refresh+`"}`))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var pair struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&pair)
			answers[i] = answer{resp.StatusCode, pair.AccessToken, pair.RefreshToken}
		})
	}
	wg.Wait()
	successor := answers[0].refresh
	for i, a := range answers {
		if a.status != http.StatusOK || a.refresh != successor || a.refresh == "" || a.access == "" {
			t.Errorf("refresh %d (instance %d): %d, refresh token %.8s…; want 200 and the same successor as the others (%.8s…)",
				i, i%3, a.status, a.refresh, successor)
		}
	}
	if t.Failed() {
		return
	}

	clk.Advance(token.DefaultRefreshGrace + time.Second)
	wantInvalidToken(t, "the spent token after the grace window", apiRefresh(t, instances[1].URL, refresh))
	wantInvalidToken(t, "the successor after the spent token was replayed", apiRefresh(t, instances[2].URL, successor))
}
