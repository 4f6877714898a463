"""Grade a folder of submitted lab notebooks: ``attention-course-grade SUBMISSIONS --lab 03``.

The parts, by where they run:

* :mod:`.kernel` runs inside each submission's kernel: it calls the student's functions on
  the official checks' inputs and publishes what they returned as plain data. It is small
  and imports nothing of the grader.
* :mod:`.plan` reads what grading a lab needs (its checks and solution notebook) and writes
  the notebook the grader runs: the submission with the official calls in place of its
  own check cells.
* :mod:`.runner` executes that notebook in a fresh kernel with time, memory and output
  limits, in a sandbox of :mod:`.sandbox` (bubblewrap; :mod:`.cgroups` limits the whole
  sandbox where the machine allows).
* :mod:`.judging` judges the published outputs with the official checks, in the grader's
  own process, which never runs student code.
* :mod:`.gradebook` holds a submission's grade and writes the CSV, summary and feedback.
* :mod:`.cli` is the command line and grades a whole folder.

Nothing here knows a particular lab: exercises, points and check calls come from
``attention_course.checks.labNN`` and ``solutions/NN_topic.ipynb``.
"""
