// @ts-check
// The invite was accepted and this browser now holds its pass (a cookie no
// script can read). Go on to the room, replacing this page in the history so
// the invite's secret does not stay in the address bar or the back button.
window.location.replace('/');
