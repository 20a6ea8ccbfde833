package server

// RoutePatterns returns the pattern of every route s answers, from its
// route table, for tests of the package server_test.
func RoutePatterns(s *Server) []string {
	var patterns []string
	for _, rt := range s.routeTable() {
		patterns = append(patterns, rt.pattern)
	}
	return patterns
}
