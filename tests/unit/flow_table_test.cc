// placeholder: filled by its issue-2 commit
