package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// credentials are the two fields of the login and registration forms.
type credentials struct {
	Username string
	Password string
}

// formError is a form the server refuses to read, with the status and the
// sentence to show.
type formError struct {
	Status  int
	Message string
}

// readCredentials reads a urlencoded body of at most MaxBodyBytes with a
// username and a password. A larger body is a 413; a body that is not a
// form, or lacks a field, is a 400.
func (s *Server) readCredentials(w http.ResponseWriter, r *http.Request) (credentials, *formError) {
	form, ferr := s.readForm(w, r)
	if ferr != nil {
		return credentials{}, ferr
	}
	c := credentials{Username: form.Get("username"), Password: form.Get("password")}
	switch {
	case c.Username == "" && c.Password == "":
		return c, &formError{http.StatusBadRequest, "Enter a username and a password."}
	case c.Username == "":
		return c, &formError{http.StatusBadRequest, "Enter a username."}
	case c.Password == "":
		return c, &formError{http.StatusBadRequest, "Enter a password."}
	}
	return c, nil
}

// readForm parses the request's urlencoded body, bounded by MaxBodyBytes.
// Only the body counts: fields in the query string are ignored.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *formError) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &formError{http.StatusRequestEntityTooLarge,
				fmt.Sprintf("The form is larger than %d bytes.", tooLarge.Limit)}
		}
		return nil, &formError{http.StatusBadRequest, "The form could not be read: send it urlencoded."}
	}
	return r.PostForm, nil
}
