"""``vidstyle studio``: a local page to try styles on a frame, preview, start renders and watch
them come in, on the engine and work folders of the command line.

``folder`` confines every path the page names to the folder the studio serves; ``renders``
queues renders and runs each as the command line would, in a process of its own; ``tries``
paints a frame in several styles; ``server`` answers the page (standard library only), and
``page.html`` is the page.
"""
