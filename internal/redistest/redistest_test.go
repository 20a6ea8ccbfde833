package redistest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseClusterNodes(t *testing.T) {
	reply := `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master,fail - 0 1426238318243 3 disconnected 10923-16383 [93->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 16000
`
	nodes, err := ParseClusterNodes(reply)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 4 {
		t.Fatalf("%d nodes, want 4", len(nodes))
	}
	r, m, f, me := nodes[0], nodes[1], nodes[2], nodes[3]
	if r.Addr != "127.0.0.1:30004" || r.Master() || r.MasterID != me.ID || !r.Linked || r.Slots != nil {
		t.Errorf("replica parsed as %+v", r)
	}
	if !m.Master() || m.MasterID != "" || !reflect.DeepEqual(m.Slots, [][2]int{{5461, 10922}}) || m.Failing() {
		t.Errorf("primary parsed as %+v", m)
	}
	if !f.Failing() || f.Linked || !reflect.DeepEqual(f.Slots, [][2]int{{10923, 16383}}) {
		t.Errorf("failed primary parsed as %+v", f)
	}
	if !me.Myself() || !me.HasSlot(0) || !me.HasSlot(16000) || me.HasSlot(5461) || me.slotCount() != 5462 {
		t.Errorf("myself parsed as %+v", me)
	}
	if _, err := ParseClusterNodes("abc 127.0.0.1:1@2 master"); err == nil {
		t.Error("a short line was accepted")
	}
}

// TestClusterFailover checks the helpers on a real Cluster: a key written
// before its primary is killed is read from the promoted replica.
func TestClusterFailover(t *testing.T) {
	c := StartCluster(t, ClusterOptions{})
	client := c.Client(t)
	ctx := context.Background()
	const key = "redistest:key"
	if err := client.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// WAIT, on the connection that wrote: the replica has the key before
	// its primary dies.
	m := c.MasterOf(t, key)
	conn := m.Client().Conn()
	defer conn.Close()
	if err := conn.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 on %s: %d, %v", m, n, err)
	}
	f := c.KillMaster(t, m).WaitPromotion(t, 30*time.Second)
	t.Log(f)
	if got := c.MasterOf(t, key); got != f.Promoted {
		t.Errorf("after the failover %s serves the key, want the promoted %s", got, f.Promoted)
	}
	if v, err := f.Promoted.Client().Get(ctx, key).Result(); err != nil || v != "v" {
		t.Errorf("GET on the promoted replica: %q, %v", v, err)
	}
}

// TestSentinelFailover checks the helpers on a real Sentinel set: the
// replica takes over, and a failover client follows it.
func TestSentinelFailover(t *testing.T) {
	s := StartSentinel(t, SentinelOptions{})
	ctx := context.Background()
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: s.sentinelAddrs()})
	defer client.Close()
	conn := s.Primary.Client().Conn()
	defer conn.Close()
	if err := conn.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d, %v", n, err)
	}
	f := s.KillPrimary(t).WaitPromotion(t, 30*time.Second)
	t.Log(f)
	if f.Promoted != s.Replica {
		t.Fatalf("promoted %s, want the replica", f.Promoted)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := client.Get(ctx, "k").Result()
		if err == nil && v == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET through the failover client 10s after the promotion: %q, %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
