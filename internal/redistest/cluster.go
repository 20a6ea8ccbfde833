package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterOptions adjust StartCluster; the zero value gives the defaults.
type ClusterOptions struct {
	// NodeTimeout is the nodes' cluster-node-timeout: how long a node
	// may not answer before the others count it as failed and its
	// replica takes over. Zero means 1 s, so that a failover takes two
	// or three seconds.
	NodeTimeout time.Duration
}

// Cluster is a Redis Cluster of six local redis-server processes: three
// primaries sharing the 16384 slots and one replica of each.
type Cluster struct {
	t testing.TB
	// Nodes are the six servers, in the order started. Which are the
	// primaries is the Cluster's business: see Topology and MasterOf.
	Nodes []*Server
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID       string
	Addr     string // 127.0.0.1:PORT, without the bus port
	Flags    []string
	MasterID string // the primary a replica follows; "" for a primary
	Linked   bool   // the link state is "connected"
	Slots    [][2]int
}

// Master reports whether the node is a primary.
func (n ClusterNode) Master() bool { return slices.Contains(n.Flags, "master") }

// Myself reports whether the line is about the node that answered.
func (n ClusterNode) Myself() bool { return slices.Contains(n.Flags, "myself") }

// Failing reports whether the node is counted as failed (fail) or
// suspected of it (fail?).
func (n ClusterNode) Failing() bool {
	return slices.Contains(n.Flags, "fail") || slices.Contains(n.Flags, "fail?")
}

// HasSlot reports whether the node serves slot.
func (n ClusterNode) HasSlot(slot int) bool {
	for _, r := range n.Slots {
		if r[0] <= slot && slot <= r[1] {
			return true
		}
	}
	return false
}

// slotCount is how many slots the node serves.
func (n ClusterNode) slotCount() int {
	c := 0
	for _, r := range n.Slots {
		c += r[1] - r[0] + 1
	}
	return c
}

// ParseClusterNodes reads the reply of CLUSTER NODES. Slots being
// migrated ([slot->-id] and [slot-<-id]) are left out.
func ParseClusterNodes(reply string) ([]ClusterNode, error) {
	var nodes []ClusterNode
	for _, line := range strings.Split(strings.TrimSpace(reply), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q has %d fields, want 8 or more", line, len(f))
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addr, _, _ = strings.Cut(addr, ",") // ip:port@cport[,hostname]
		n := ClusterNode{ID: f[0], Addr: addr, Flags: strings.Split(f[2], ","), Linked: f[7] == "connected"}
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := a, error(nil)
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || a > b {
				return nil, fmt.Errorf("CLUSTER NODES line %q: bad slots %q", line, s)
			}
			n.Slots = append(n.Slots, [2]int{a, b})
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// StartCluster starts a Redis Cluster of six nodes on free loopback ports,
// three primaries and three replicas (by redis-cli --cluster create …
// --cluster-replicas 1), and waits until every node says the Cluster is
// ok, every slot is served and every replica is in sync. The nodes keep
// nothing on disk (no RDB, no AOF). They are killed when the test ends.
//
// Without redis-server 7.0 or redis-cli the test is skipped, or fails
// under CI=true.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	bins := lookBinaries(t)
	timeout := opts.NodeTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	began := time.Now()
	c := &Cluster{t: t}
	for i := range 6 {
		c.Nodes = append(c.Nodes, startServer(t, fmt.Sprintf("cluster node %d", i+1), []string{bins.server},
			func(dir string, port, busPort int) []string {
				return []string{
					"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
					"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
					"--cluster-config-file", "nodes.conf",
					"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
					// A replica may take over however long ago it last
					// heard from its primary: the test decides when
					// primaries die, not how fresh the replicas are.
					"--cluster-replica-validity-factor", "0",
					// Replicas synchronise at once rather than after 5 s
					// of waiting for others.
					"--repl-diskless-sync-delay", "0",
					"--save", "", "--appendonly", "no", "--dir", dir,
				}
			}))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bins.cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	waitFor(t, "the Redis Cluster to be whole", readyTimeout, func(ctx context.Context) error { return c.whole(ctx, nil) })
	t.Logf("Redis Cluster of %d nodes ready in %v: %s", len(c.Nodes), time.Since(began).Round(time.Millisecond), c.describe())
	return c
}

// whole returns nil when every node that is alive and not in gone says
// the Cluster is ok, knows every other node, sees three primaries
// (none failing) sharing all 16384 slots and one replica of each, linked
// and in sync.
func (c *Cluster) whole(ctx context.Context, gone *Server) error {
	for _, n := range c.Nodes {
		if n == gone || !n.Alive() {
			continue
		}
		info, err := n.client.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", n, err)
		}
		if st := infoField(info, "cluster_state"); st != "ok" {
			return fmt.Errorf("%s: cluster_state %q", n, st)
		}
		nodes, err := c.topologyFrom(ctx, n)
		if err != nil {
			return err
		}
		masters, slots := 0, 0
		replicas := map[string]int{}
		for _, x := range nodes {
			if gone != nil && x.Addr == gone.Addr {
				continue
			}
			if x.Failing() || !x.Linked {
				return fmt.Errorf("%s sees %s as %v, link %v", n, x.Addr, x.Flags, x.Linked)
			}
			if x.Master() {
				masters++
				slots += x.slotCount()
			} else {
				replicas[x.MasterID]++
			}
		}
		if masters != 3 || slots != 16384 {
			return fmt.Errorf("%s sees %d primaries serving %d slots, want 3 serving 16384", n, masters, slots)
		}
		if gone == nil {
			for _, x := range nodes {
				if x.Master() && replicas[x.ID] != 1 {
					return fmt.Errorf("%s sees %d replicas of %s, want 1", n, replicas[x.ID], x.Addr)
				}
			}
		}
		if !slices.Contains(myFlags(nodes), "master") {
			if err := replicaInSync(ctx, n); err != nil {
				return err
			}
		} else if gone == nil {
			if err := replicasOnline(ctx, n, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// myFlags returns the flags of the node that answered in nodes (its
// "myself" line).
func myFlags(nodes []ClusterNode) []string {
	for _, n := range nodes {
		if n.Myself() {
			return n.Flags
		}
	}
	return nil
}

// topologyFrom returns CLUSTER NODES as n sees it.
func (c *Cluster) topologyFrom(ctx context.Context, n *Server) ([]ClusterNode, error) {
	reply, err := n.client.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER NODES: %w", n, err)
	}
	nodes, err := ParseClusterNodes(reply)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n, err)
	}
	return nodes, nil
}

// Topology returns CLUSTER NODES as the first live node that answers sees
// it.
func (c *Cluster) Topology(t testing.TB) []ClusterNode {
	t.Helper()
	var errs []string
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		nodes, err := c.topologyFrom(ctx, n)
		cancel()
		if err == nil {
			return nodes
		}
		errs = append(errs, err.Error())
	}
	t.Fatalf("no node of the Cluster answers CLUSTER NODES: %s", strings.Join(errs, "; "))
	return nil
}

// describe lists the primaries, their slots and their replicas, for the
// test's log.
func (c *Cluster) describe() string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		nodes, err := c.topologyFrom(ctx, n)
		if err != nil {
			continue
		}
		for _, x := range nodes {
			if !x.Master() || x.Failing() {
				continue
			}
			fmt.Fprintf(&b, "primary %s (PID %d) slots %v", x.Addr, c.server(x.Addr).PID(), x.Slots)
			for _, y := range nodes {
				if y.MasterID == x.ID {
					fmt.Fprintf(&b, " replica %s (PID %d)", y.Addr, c.server(y.Addr).PID())
				}
			}
			b.WriteString("; ")
		}
		break
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// server returns the node listening on addr, or nil.
func (c *Cluster) server(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Addrs returns the addresses of all six nodes.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL returns the redis+cluster:// URL of the Cluster that redisstore.Open
// and sessionkit serve --store take, with every node as a seed, and the
// query parameters given ("prefix", "P", ...) added.
func (c *Cluster) URL(params ...string) string {
	q := url.Values{}
	for _, a := range c.Addrs()[1:] {
		q.Add("addr", a)
	}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return "redis+cluster://" + c.Nodes[0].Addr + "?" + q.Encode()
}

// Client returns a Cluster client of the test's own (closed when the test
// ends), for commands the test sends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: c.Addrs(), DialTimeout: time.Second, ReadTimeout: queryTimeout, WriteTimeout: queryTimeout,
		DisableIdentity: true,
	})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// KeySlot returns the hash slot of key, as CLUSTER KEYSLOT on a live node
// computes it.
func (c *Cluster) KeySlot(t testing.TB, key string) int {
	t.Helper()
	var errs []string
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		slot, err := n.client.ClusterKeySlot(ctx, key).Result()
		cancel()
		if err == nil {
			return int(slot)
		}
		errs = append(errs, fmt.Sprintf("%s: %v", n, err))
	}
	t.Fatalf("no node of the Cluster answers CLUSTER KEYSLOT: %s", strings.Join(errs, "; "))
	return 0
}

// MasterOf returns the primary that serves the slot of key now, by
// CLUSTER KEYSLOT and CLUSTER NODES.
func (c *Cluster) MasterOf(t testing.TB, key string) *Server {
	t.Helper()
	slot := c.KeySlot(t, key)
	for _, n := range c.Topology(t) {
		if n.Master() && !n.Failing() && n.HasSlot(slot) {
			if s := c.server(n.Addr); s != nil {
				return s
			}
		}
	}
	t.Fatalf("no primary serves slot %d (of key %q): %s", slot, key, c.describe())
	return nil
}

// Keys returns the keys matching the SCAN pattern on every primary.
func (c *Cluster) Keys(t testing.TB, pattern string) []string {
	t.Helper()
	var keys []string
	for _, n := range c.Topology(t) {
		s := c.server(n.Addr)
		if !n.Master() || n.Failing() || s == nil || !s.Alive() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		iter := s.client.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		err := iter.Err()
		cancel()
		if err != nil {
			t.Fatalf("SCAN %q on %s: %v", pattern, s, err)
		}
	}
	return keys
}

// KillMaster kills the primary m with SIGKILL, by its PID, after noting
// its replica and slots, for WaitPromotion.
func (c *Cluster) KillMaster(t testing.TB, m *Server) *ClusterFailover {
	t.Helper()
	var self ClusterNode
	nodes := c.Topology(t)
	for _, n := range nodes {
		if n.Addr == m.Addr {
			self = n
		}
	}
	if !self.Master() || len(self.Slots) == 0 {
		t.Fatalf("%s is not a primary serving slots: %v", m, self.Flags)
	}
	f := &ClusterFailover{c: c, id: self.ID, slot: self.Slots[0][0]}
	for _, n := range nodes {
		if n.MasterID == self.ID {
			f.replicas = append(f.replicas, c.server(n.Addr))
		}
	}
	if len(f.replicas) == 0 {
		t.Fatalf("%s has no replica to take over: %s", m, c.describe())
	}
	f.Killed = m
	f.KilledAt = m.Kill(t)
	return f
}

// ClusterFailover is a primary of a Cluster killed, and what followed.
type ClusterFailover struct {
	Failover
	c        *Cluster
	id       string    // the killed primary's node ID
	slot     int       // one of its slots
	replicas []*Server // its replicas when it was killed
}

// WaitPromotion waits, within timeout of the kill, until a replica of the
// killed primary says (in its own CLUSTER NODES, polled every 10 ms) that
// it is the primary serving the killed one's slots, and then until every
// surviving node agrees and says the Cluster is ok. It fails the test if
// that does not happen in time, and returns the failover with its times.
func (f *ClusterFailover) WaitPromotion(t testing.TB, timeout time.Duration) *Failover {
	t.Helper()
	deadline := f.KilledAt.Add(timeout)
	for f.Promoted == nil {
		for _, r := range f.replicas {
			ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
			nodes, err := f.c.topologyFrom(ctx, r)
			cancel()
			if err != nil {
				continue
			}
			for _, n := range nodes {
				if n.Myself() && n.Master() && n.HasSlot(f.slot) {
					f.Promoted, f.PromotedAt = r, time.Now()
				}
			}
		}
		if f.Promoted == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no replica of %s was promoted within %v of the kill:\n%s", f.Killed, timeout, f.c.nodesDump())
			}
			time.Sleep(pollInterval)
		}
	}
	waitFor(t, "every surviving node to agree on the promotion of "+f.Promoted.String(), max(time.Until(deadline), time.Second), func(ctx context.Context) error {
		if err := f.c.whole(ctx, f.Killed); err != nil {
			return err
		}
		for _, n := range f.c.Nodes {
			if !n.Alive() {
				continue
			}
			nodes, err := f.c.topologyFrom(ctx, n)
			if err != nil {
				return err
			}
			for _, x := range nodes {
				if x.HasSlot(f.slot) && x.Addr != f.Promoted.Addr {
					return fmt.Errorf("%s says %s serves slot %d", n, x.Addr, f.slot)
				}
			}
		}
		return nil
	})
	f.AgreedAt = time.Now()
	return &f.Failover
}

// nodesDump is CLUSTER NODES as each live node sees it, for messages.
func (c *Cluster) nodesDump() string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	for _, n := range c.Nodes {
		if !n.Alive() {
			fmt.Fprintf(&b, "%s (PID %d): dead\n", n, n.PID())
			continue
		}
		reply, err := n.client.ClusterNodes(ctx).Result()
		if err != nil {
			fmt.Fprintf(&b, "%s: CLUSTER NODES: %v\n", n, err)
			continue
		}
		fmt.Fprintf(&b, "%s (PID %d) sees:\n%s\n", n, n.PID(), strings.TrimSpace(reply))
	}
	return b.String()
}
