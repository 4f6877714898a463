// The widget manager typesets widget labels the MathJax 2 way, with
// `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, whenever MathJax is on the page
// (https://github.com/jupyter-widgets/ipywidgets/issues/3849). The book loads MathJax 3,
// which has no `MathJax.Hub`, so every labelled widget threw while rendering and was left
// half set up. This gives it that one call, done with MathJax 3.
//
// Loaded just before the widget manager, so this "load" listener runs before the one in
// which the manager renders the widgets; MathJax, a deferred script, has replaced its
// configuration object with itself by then.
window.addEventListener("load", () => {
  const mathjax = window.MathJax;
  if (mathjax === undefined || mathjax.Hub !== undefined) {
    return;
  }
  mathjax.Hub = {
    Queue(command) {
      const element = command[2];
      // Until MathJax has started, its first pass over the page covers the element.
      if (mathjax.typesetPromise !== undefined) {
        mathjax.startup.promise = mathjax.startup.promise
          .then(() => mathjax.typesetPromise([element]))
          .catch((error) => console.error("MathJax could not typeset a widget label:", error));
      }
    },
  };
});
