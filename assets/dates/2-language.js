// Dash 4's date pickers take month and weekday names from window.dateFns.locale, picking the entry that
// matches the *browser's* language. The app's language is the viewer's choice (cookie, shown as <html lang>),
// so keep only that locale: the calendar then speaks the same language as the rest of the page.
// The two 1-date-fns-*.js files are date-fns 4.4.0's CDN locales (MIT), minus their "CDN moved" console.log.
(function () {
  var all = (window.dateFns && window.dateFns.locale) || {};
  var key = document.documentElement.lang === "en" ? "enUS" : "ptBR";
  var only = {};
  only[key] = all[key];
  window.dateFns = Object.assign({}, window.dateFns, { locale: only });
})();
