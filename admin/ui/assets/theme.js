// Applies the saved theme before the page paints: dark, light, or the
// system's.
(function () {
  var t = localStorage.getItem('junction-admin-theme');
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
})();
