from cbsalert.cli import main

main()
