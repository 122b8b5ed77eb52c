// Marks the page once the site's own script has run, for the browser test to see.
document.body.dataset.script = "ran";
