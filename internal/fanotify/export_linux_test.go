package fanotify

// Convert is convert, for the tests of package fanotify_test.
var Convert = convert
