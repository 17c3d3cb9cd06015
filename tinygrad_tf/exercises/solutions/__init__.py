"""Reference solutions, one file per exercise: each file's docstrings are also the exercise's template.

`tinygrad-tf exercise start NAME` writes the file with the function's body
replaced by `raise NotImplementedError`; `tinygrad-tf exercise solution NAME`
prints it whole.
"""
